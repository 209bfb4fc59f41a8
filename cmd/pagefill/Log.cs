using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Pagefill;

/// pagefill's standard error.
sealed class Log(bool verbose)
{
	public void Verbose(string s)
	{
		if (verbose)
			Say(s);
	}

	public void Say(string s) => Console.Error.Write($"pagefill: {s}\n");
}
