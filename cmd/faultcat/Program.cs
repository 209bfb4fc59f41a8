// faultcat: the cat of a map's request stream; see faultcat(1).
using System.Runtime.InteropServices;
using Pager.Faultcat;
using Pager.Cmd;
using Pager.Kernel;
using Pager.Protocol;

var a = FaultcatArgs.Parse(args);
Filter filter;
try
{
	filter = Filter.Make(a.Verbs, a.Range);
}
catch (ArgumentException e)
{
	FaultcatArgs.Exit(e.Message);
	return 1;
}
// Only -s keeps count: the tally is not free on a busy stream.
var tally = a.Summary ? new Tally() : null;
// On SIGINT the summary still goes out, and faultcat exits as at end of input.
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c =>
{
	c.Cancel = true;
	if (tally is not null)
		Console.Error.Write(tally.Line());
	Environment.Exit(0);
});
try
{
	var (fd, what) = Input.Open(a);
	int tee = a.Tee is null ? -1 : Posix.Open(a.Tee, Posix.O_WRONLY | Posix.O_CREAT | Posix.O_TRUNC, 0x1b6);
	long malformed = 0;
	// A map's stream goes on across pagerd's restarts, each pagerd's a
	// stream of its own (a message the dead one cut short is reported).
	for (; fd >= 0; fd = a.Map is null ? -1 : Input.Again(what))
	{
		var cat = new Cat(filter, a.Readable, tally);
		cat.Run(fd, what, tee, a.Tee ?? "");
		malformed += cat.Malformed;
		if (fd > 0)
			Posix.Close(fd);
	}
	if (tally is not null)
		Console.Error.Write(tally.Line());
	return malformed > 0 ? 1 : 0;
}
catch (IOException e)
{
	return Exits.Fail("faultcat", e);
}
