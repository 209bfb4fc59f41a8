using System.CommandLine;
using Pager.Cmd;

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
	string.Join(' ', c.Options.Select(o => $"[{o.Name}]").Concat(c.Arguments.Select(a => a.Arity.MinimumNumberOfValues > 0 ? a.Name : $"[{a.Name}...]")));

static IEnumerable<string> Values(ParseResult r, Argument a) => r.GetResult(a)?.Tokens.Select(t => t.Value) ?? [];

static Argument<string> Arg(string name, string about) => new(name) { Description = about };
static Argument<string[]> Args(string name, string about, int min = 0) =>
	new(name) { Description = about, Arity = new ArgumentArity(min, 100) };

Verb("new", "make a map: NAME SIZE [key=value...]", (m, a) => m.Ctl("new", a),
	Arg("NAME", "the map's name"), Arg("SIZE", "its size: bytes, or with k, m, g"),
	Args("OPTION", "key=value: pagesize, source, offset, mode, readahead, timeout, policy"));
var force = new Option<bool>("-f") { Description = "drop the map even with clients attached" };
Verb("rm", "remove a map", (m, a) => m.Ctl("rm", a), Arg("NAME", "the map")).Add(force);
Verb("set", "change a map's options", (m, a) => m.Ctl("set", a),
	Arg("NAME", "the map"), Args("OPTION", "key=value", 1));
Verb("ls", "list the maps: name size resident clients pager faults errors", (m, a) => m.Ctl("ls", a));
var watch = new Option<bool>("-w") { Description = "print the counters once a second, like vmstat" };
var count = new Option<int>("-n") { Description = "with -w, stop after N lines", HelpName = "N" };
var st = Verb("stat", "print every counter of a map", (m, a) => m.Stat(a[0]), Arg("NAME", "the map"));
st.Add(watch);
st.Add(count);
Verb("prefetch", "request the missing pages of a range now", (m, a) => m.Ctl("prefetch", a),
	Arg("NAME", "the map"), Args("RANGE", "OFFSET LENGTH (default: all of it)"));
Verb("evict", "drop a range's clean pages from memory; print how many went", (m, a) => m.Ctl("evict", a),
	Arg("NAME", "the map"), Args("RANGE", "OFFSET LENGTH (default: all of it)"));
Verb("cat", "copy a map's bytes to standard output, faulting them in", (m, a) => m.Cat(a),
	Arg("NAME", "the map"), Args("RANGE", "OFFSET [LENGTH]"));
Verb("write", "copy standard input into a map at OFFSET, dirtying its pages", (m, a) => m.Write(a),
	Arg("NAME", "the map"), Arg("OFFSET", "where the bytes go"));
Verb("sync", "write back a map's dirty pages; exit 0 only when all are durable", (m, a) => m.Sync(a[0]),
	Arg("NAME", "the map"));
Verb("err", "print a map's recorded errors", (m, a) => m.Ctl("err", a), Arg("NAME", "the map"));

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
Mapctl.Count = parsed.GetValue(count);
return parsed.Invoke();
