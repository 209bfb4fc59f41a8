using Pager.Client;
using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Faultcat;

static class Input
{
	/// The descriptor faultcat reads: the map's fault FIFO, a trace, or
	/// standard input. Opening a FIFO waits for pagerd to open its end.
	public static (int Fd, string What) Open(FaultcatArgs a)
	{
		if (a.Trace is not null)
			return (Posix.Open(a.Trace, Posix.O_RDONLY), a.Trace);
		if (a.Map is null)
			return (0, "standard input");
		if (!Names.IsMap(a.Map))
			FaultcatArgs.Exit($"bad map name '{a.Map}'");
		var path = Dir.Fault(Dir.Root(), a.Map);
		if (Posix.TryLstat(path) is null)
			throw new SysException("open", Errno.ENOENT, path);
		return (Again(path), path);
	}

	/// The map's fault FIFO once pagerd writes to it, or -1 when it is
	/// gone: after the end of one pagerd's stream comes the next one's.
	public static int Again(string path) => Fifo.AwaitWriter(path);
}
