using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Pagefill;

/// Where replies go: standard output or the map's fill FIFO, which other
/// pagers may write too. Every message is one write(2) of at most PIPE_BUF
/// bytes, so messages never interleave; inline data goes as data frames.
sealed class Replies(int fd, string what, Log log)
{
	readonly Lock l = new();

	public void Send(List<Msg> replies)
	{
		// One reply at a time, so that -v's log reads in the order sent.
		lock (l)
			foreach (var r in replies)
				Send(r);
	}

	void Send(Msg r)
	{
		if (r.Verb != Verb.Data)
		{
			log.Verbose($"-> {Format.Header(r)}");
			Posix.WriteAll(fd, Format.Bytes(r), what);
			return;
		}
		int frames = 0;
		foreach (var f in Format.DataFrames(r.Map, r.Off, r.Payload))
		{
			Posix.WriteAll(fd, f, what);
			frames++;
		}
		log.Verbose($"-> {Format.Header(r)} in {frames} frames");
	}
}

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
