using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Daemon;

/// Where outside input enters pagerd (a control line, a reply on fill, a
/// userfaultfd event, a connection), what its handler throws is caught,
/// told to whoever sent it, and the daemon goes on serving the others.
public static class Boundary
{
	/// What to say of e: its message when it is a refusal the toolkit
	/// makes; for anything else, which is a bug, its type as well, with
	/// the stack in the log.
	public static string Why(Exception e, Action<string> log)
	{
		if (e is ProtocolException or CtlException or SysException or NotSupportedException)
			return e.Message;
		log($"internal error: {e}");
		return $"internal error: {e.GetType().Name}: {e.Message}";
	}
}
