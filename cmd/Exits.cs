using Pager.Kernel;

namespace Pager.Cmd;

/// How every command ends on a failure: with one line naming the command
/// and what failed, status 1; or, when what failed was a write to a pipe
/// whose reader has gone, quietly with status 0, as cat(1) does.
static class Exits
{
	public static bool ReaderGone(Exception e) => e is SysException s && s.Errno == Errno.EPIPE;

	public static int Fail(string cmd, Exception e)
	{
		if (ReaderGone(e))
			return 0;
		Console.Error.Write($"{cmd}: {e.Message}\n");
		return 1;
	}
}
