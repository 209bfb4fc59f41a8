// faultcat: the cat of a map's request stream; see faultcat(1).
using System.Runtime.InteropServices;
using Pager.Faultcat;
using Pager.Kernel;
using Pager.Protocol;
using Tmds.Linux;

var a = Args.Parse(args);
Filter filter;
try
{
	filter = Filter.Make(a.Verbs, a.Range);
}
catch (ArgumentException e)
{
	Args.Exit(e.Message);
	return 1;
}
var tally = new Tally();
// On SIGINT the summary still goes out, and faultcat exits as at end of input.
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c =>
{
	c.Cancel = true;
	if (a.Summary)
		Console.Error.Write(tally.Line());
	Environment.Exit(0);
});
try
{
	var cat = new Cat(filter, a.Readable, tally);
	var (fd, what) = Input.Open(a);
	int tee = a.Tee is null ? -1 : Posix.Open(a.Tee, LibC.O_WRONLY | Posix.O_CREAT | Posix.O_TRUNC, 0x1b6);
	cat.Run(fd, what, tee, a.Tee ?? "");
	if (a.Summary)
		Console.Error.Write(tally.Line());
	return cat.Malformed > 0 ? 1 : 0;
}
catch (SysException e) when (e.Errno == Errno.EPIPE)
{
	return 0; // the reader is gone: nothing more to do
}
catch (IOException e)
{
	Console.Error.Write($"faultcat: {e.Message}\n");
	return 1;
}
