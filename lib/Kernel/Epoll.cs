using Tmds.Linux;

namespace Pager.Kernel;

/// An epoll set. Each descriptor carries a 64-bit cookie back in its events.
public sealed unsafe class Epoll : IDisposable
{
	public const uint In = 0x001, Out = 0x004, Err = 0x008, Hup = 0x010, RdHup = 0x2000;

	readonly int fd;

	public Epoll() => fd = Sys.Check(LibC.epoll_create1(LibC.EPOLL_CLOEXEC), "epoll_create1");

	public void Add(int target, uint events, ulong cookie) => Ctl(LibC.EPOLL_CTL_ADD, target, events, cookie);
	public void Modify(int target, uint events, ulong cookie) => Ctl(LibC.EPOLL_CTL_MOD, target, events, cookie);

	public void Remove(int target)
	{
		var ev = new epoll_event();
		LibC.epoll_ctl(fd, LibC.EPOLL_CTL_DEL, target, &ev);
	}

	void Ctl(int op, int target, uint events, ulong cookie)
	{
		var ev = new epoll_event { events = (int)events };
		ev.data.u64 = cookie;
		Sys.Check(LibC.epoll_ctl(fd, op, target, &ev), "epoll_ctl", $"fd {target}");
	}

	readonly epoll_event[] ready = new epoll_event[64];

	/// Waits up to timeoutMs (-1: for ever); returns the number of events,
	/// each then read with Cookie(i) and Events(i).
	public int Wait(int timeoutMs)
	{
		fixed (epoll_event* p = ready)
		{
			int n = LibC.epoll_wait(fd, p, ready.Length, timeoutMs);
			if (n < 0 && Sys.Errno == Errno.EINTR)
				return 0;
			return Sys.Check(n, "epoll_wait");
		}
	}

	public ulong Cookie(int i) => ready[i].data.u64;
	public uint Events(int i) => (uint)ready[i].events;

	public void Dispose() => LibC.close(fd);
}
