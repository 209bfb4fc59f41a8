using System.Runtime.InteropServices;
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
			var (input, output, what) = Open(a.Map);
			new Responder(src, new Replies(output, what, log), a, log).Run(new Reader(input, e => log.Say(e)));
			return 0;
		}
		catch (Exception e)
		{
			return Fail(e);
		}
	}

	/// The request stream and where replies go: the map's FIFOs, or
	/// standard input and output. fault is opened first; each open waits
	/// for pagerd to open the other end.
	static (Stream, int, string) Open(string? map)
	{
		if (map is null)
			return (Console.OpenStandardInput(), 1, "standard output");
		var root = Dir.Root();
		var fault = Posix.Open(Dir.Fault(root, map), Posix.O_RDONLY);
		var fill = Dir.Fill(root, map);
		return (new FdStream(fault, Dir.Fault(root, map)), Posix.Open(fill, Posix.O_WRONLY), fill);
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
