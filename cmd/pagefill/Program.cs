using System.Runtime.InteropServices;
using Pager.Client;
using Pager.Cmd;
using Pager.Kernel;
using Pager.Protocol;
using Pager.Sources;

namespace Pager.Pagefill;

/// pagefill: the standard pager; see pagefill(1).
static class Program
{
	static int Main(string[] args)
	{
		var a = PagefillArgs.Parse(args);
		var log = new Log(a.Verbose);
		Source src;
		try
		{
			src = Source.Open(a.Source, new SourceConfig { FileOff = a.FileOff, Inline = a.Inline, Aname = a.Aname ?? "", Replicas = a.Replicas, Wait = a.Wait, Strict = a.Strict, Warn = log.Say });
		}
		catch (ArgumentException e)
		{
			PagefillArgs.Exit(e.Message);
			return 1;
		}
		using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c =>
		{
			c.Cancel = true;
			Environment.Exit(0);
		});
		try
		{
			var (input, output, what, again) = Open(a.Map);
			new Responder(src, new Replies(output, what, log), a, log).Run(new Reader(input, e => log.Say(e), again));
			return 0;
		}
		catch (Exception e)
		{
			return Fail(e);
		}
	}

	/// The request stream, where replies go, and what makes the stream go
	/// on when a pagerd ends: the map's FIFOs, or standard input and
	/// output.
	static (Stream, int, string, Func<bool>?) Open(string? map)
	{
		if (map is null)
			return (Console.OpenStandardInput(), 1, "standard output", null);
		var root = Dir.Root();
		string faultPath = Dir.Fault(root, map), fillPath = Dir.Fill(root, map);
		if (Posix.TryLstat(faultPath) is null)
			throw new SysException("open", Errno.ENOENT, faultPath);
		// fault is open for reading before fill is opened, as pagerd (which
		// holds fill open all the time) expects; if it has no writer, the
		// first read ends it and Again waits for one.
		int fault = Posix.Open(faultPath, Posix.O_RDONLY | Posix.O_NONBLOCK);
		int fill = Fifo.AwaitReader(fillPath);
		if (fill < 0)
			throw new SysException("open", Errno.ENOENT, fillPath);
		Posix.SetNonblock(fault, false);
		bool Again()
		{
			int f = Fifo.AwaitWriter(faultPath);
			if (f >= 0)
				Posix.MoveFd(f, fault, faultPath);
			return f >= 0;
		}
		return (new FdStream(fault, faultPath), fill, fillPath, Again);
	}

	/// Ends pagefill over e: quietly when the reader of the replies is
	/// gone, else with one line saying what failed.
	public static int Fail(Exception e)
	{
		int code = Exits.Fail("pagefill", e);
		Environment.Exit(code);
		return code;
	}
}
