using Pager.Kernel;

namespace Pager.Daemon;

public sealed partial class Server
{
	readonly uffd_msg[] events = new uffd_msg[64];

	/// Reads a client's userfaultfd in batches and hands faults to its map.
	void Events(Attachment a)
	{
		int n;
		try
		{
			n = a.Uffd.Read(events);
		}
		catch (SysException e)
		{
			log($"map {a.Map.Name}: client userfaultfd: {e.Message}");
			loop.Remove(a.Uffd.Fd);
			return;
		}
		for (int i = 0; i < n; i++)
		{
			ref var e = ref events[i];
			if (e.@event != Kernel.Uffd.UFFD_EVENT_PAGEFAULT)
				log($"map {a.Map.Name}: userfaultfd event 0x{e.@event:x} ignored");
			else if ((e.pagefault_flags & Kernel.Uffd.UFFD_PAGEFAULT_FLAG_WP) != 0)
				a.Map.WriteFault(a, e.pagefault_address);
			else
				a.Map.Fault(a, e.pagefault_address, (int)e.pagefault_ptid,
					(e.pagefault_flags & Kernel.Uffd.UFFD_PAGEFAULT_FLAG_WRITE) != 0);
		}
	}
}
