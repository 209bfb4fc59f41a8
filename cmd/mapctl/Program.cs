using System.CommandLine;
using Pager.Cmd;
using Pager.Protocol;

// mapctl: control, inspect and read pagerd's maps; see mapctl(1).

var dir = new Option<string?>("-d") { Description = "pagerd's namespace (default $PAGERDIR)", HelpName = "DIR", Recursive = true };
var root = new RootCommand("mapctl: control and inspect pagerd's maps") { dir };

Command Verb(string name, string about, Func<Mapctl, string[], int> run, params Argument[] args)
{
	var c = new Command(name, about);
	foreach (var a in args)
		c.Add(a);
	c.SetAction(r => Mapctl.Run(r.GetValue(dir), m => run(m, [.. args.SelectMany(a => Values(r, a))])));
	root.Add(c);
	return c;
}

static string Usage(Command c) =>
	string.Join(' ', c.Options.Select(o => $"[{o.Name}]").Concat(c.Arguments.Select(a => a.Name)));

static IEnumerable<string> Values(ParseResult r, Argument a) => r.GetResult(a)?.Tokens.Select(t => t.Value) ?? [];

static Argument<string> Arg(string name, string about) => new(name) { Description = about };
static Argument<string[]> Args(string name, string about, int min = 0) =>
	new(name) { Description = about, Arity = new ArgumentArity(min, 100) };

// The control verbs come from pagerd's own table; stat, sync and rm
// have options of mapctl's, and cat and write are mapctl's alone.
var force = new Option<bool>("-f") { Description = "drop the map even with clients attached" };
var watch = new Option<bool>("-w") { Description = "print the counters once a second, like vmstat" };
var count = new Option<int>("-n") { Description = "with -w, stop after N lines", HelpName = "N" };
foreach (var c in Cmdtab.All.Where(c => c.From.HasFlag(From.Fifo)))
{
	Func<Mapctl, string[], int> run = c.Name switch
	{
		"stat" => (m, a) => m.Stat(a),
		"sync" => (m, a) => m.Sync(a),
		_ => (m, a) => m.Ctl(c.Name, a),
	};
	var words = c.Required.Select(n => (Argument)Arg(n, n.ToLowerInvariant()));
	if (c.Rest is { } rest)
		words = words.Append(Args(rest, rest));
	var v = Verb(c.Name, c.About, run, [.. words]);
	if (c.Name == "rm")
		v.Add(force);
	if (c.Name == "stat")
	{
		v.Add(watch);
		v.Add(count);
	}
}
var samples = new Option<int>("-n") { Description = "stop after N samples", HelpName = "N" };
Verb("top", "every map, a line each, once a second, like vmstat", (m, a) => m.Top(a)).Add(samples);
Verb("cat", "copy a map's bytes to standard output, faulting them in", (m, a) => m.Cat(a),
	Arg("NAME", "the map"), Args("[OFFSET [LENGTH]]", "the range, default all of it"));
Verb("write", "copy standard input into a map at OFFSET, dirtying its pages", (m, a) => m.Write(a),
	Arg("NAME", "the map"), Arg("OFFSET", "where the bytes go"));

var parsed = root.Parse(args);
// A mistake on the command line is one line, in the form of every other
// error, and the usage of the verb, on standard error.
if (parsed.Errors.Count > 0)
{
	var verb = parsed.CommandResult.Command;
	var e = parsed.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized")) ?? parsed.Errors[0];
	Console.Error.WriteLine($"mapctl: {e.Message.TrimEnd('.')}");
	Console.Error.WriteLine(verb == root ? "usage: mapctl [-d DIR] VERB ...; mapctl -h lists the verbs" : $"usage: mapctl {verb.Name} {Usage(verb)}");
	return 1;
}
Mapctl.Force = parsed.GetValue(force);
Mapctl.Watch = parsed.GetValue(watch);
Mapctl.Count = parsed.CommandResult.Command.Name == "top" ? parsed.GetValue(samples) : parsed.GetValue(count);
return parsed.Invoke();
