using System.Text.RegularExpressions;
using Xunit;
using static Pager.Tests.Streams;

namespace Pager.Tests;

/// mapctl's verbs against a real pagerd: what they print, and their exit
/// codes, failures included.
public class MapctlTests : PagerdTest
{
	static readonly string[] StatKeys =
	[
		"name", "size", "pagesize", "source", "offset", "mode", "readahead", "timeout", "policy",
		"resident", "faults", "requests", "fills", "filled", "waiting", "outstanding", "clients", "pager", "errors",
	];

	/// Runs mapctl, checking it failed with exactly one line.
	void Fails(string message, params string[] args)
	{
		var r = Mapctl(args);
		Assert.True(r.Code == 1, $"mapctl {string.Join(' ', args)}: exit {r.Code}");
		Assert.Equal("", r.Text);
		Assert.Equal($"mapctl: {message}\n", r.Err);
	}

	/// Runs mapctl, checking it succeeded and said nothing on standard error.
	string Ok(params string[] args)
	{
		var r = Mapctl(args);
		Assert.True(r.Code == 0, $"mapctl {string.Join(' ', args)}: exit {r.Code}: {r.Err}");
		Assert.Equal("", r.Err);
		return r.Text;
	}

	[Fact]
	public void NewLsStatRm()
	{
		Assert.Equal("", Ok("new", "m", "10000", "source=zero", "readahead=8k", "timeout=1500ms", "policy=zero"));
		Assert.Equal("", Ok("new", "a.b-c_1", "0x3000", "mode=ro", "pagesize=8k"));
		Assert.Equal("a.b-c_1 12288 0 0 no 0 0\nm 10000 0 0 no 0 0\n", Ok("ls"));
		var text = Ok("stat", "m");
		var keys = text.TrimEnd('\n').Split('\n').Select(l => l[..l.IndexOf(' ')]);
		Assert.Equal(StatKeys, keys.Where(StatKeys.Contains));
		var kv = Protocol.Status.Parse(text);
		Assert.Equal("m", kv["name"]);
		Assert.Equal("10000", kv["size"]);
		Assert.Equal("4k", kv["pagesize"]);
		Assert.Equal("zero", kv["source"]);
		Assert.Equal("8k", kv["readahead"]);
		Assert.Equal("1500ms", kv["timeout"]);
		Assert.Equal("zero", kv["policy"]);
		Assert.Equal("no", kv["pager"]);
		Assert.Contains("pagesize 8k\n", Ok("stat", "a.b-c_1"));
		Assert.Contains("mode ro\n", Ok("stat", "a.b-c_1"));
		// Read it: three pages of zeros from the built-in source, in two
		// faults, since the first asks for two pages.
		Assert.Equal(new byte[10000], Cat("m"));
		Assert.Equal("a.b-c_1 12288 0 0 no 0 0\nm 10000 3 0 no 2 0\n", Ok("ls"));
		Assert.Equal("", Ok("rm", "m"));
		Assert.Equal("", Ok("rm", "a.b-c_1"));
		Assert.Equal("", Ok("ls"));
		Assert.False(Directory.Exists(Path.Combine(d.Root, "m")));
	}

	[Fact]
	public void NewFailures()
	{
		Ok("new", "m", "1k");
		Fails("map 'm' exists", "new", "m", "4k");
		Fails("size must not be zero", "new", "x", "0");
		Fails("bad size '10x'", "new", "x", "10x");
		Fails("bad size '-1'", "new", "x", "-1");
		Fails("bad map name 'a/b'", "new", "a/b", "1k");
		Fails("bad map name 'ctl'", "new", "ctl", "1k");
		Fails("unknown option 'bogus'", "new", "x", "1k", "bogus=1");
		Fails("bad option 'nokey' (want key=value) in 'new x 1k nokey' (usage: new NAME SIZE [key=value...])", "new", "x", "1k", "nokey");
		Fails("option 'mode' given twice in 'new x 1k mode=ro mode=rw' (usage: new NAME SIZE [key=value...])", "new", "x", "1k", "mode=ro", "mode=rw");
		Fails("bad pagesize '5000': want a power of two from 4k to 1g", "new", "x", "1k", "pagesize=5000");
		Fails("size 9223372036854775807 is larger than a map may be (4t)", "new", "x", "9223372036854775807");
		Fails("bad readahead '0x7ffffffffffff000': at most 1g", "new", "x", "64k", "readahead=0x7ffffffffffff000");
		Fails("bad source 'http://x': want file:PATH, zero or none", "new", "x", "1k", "source=http://x");
		Fails("bad mode 'xx': want ro or rw", "new", "x", "1k", "mode=xx");
		Fails("bad policy 'maybe': want wait, zero or sigbus", "new", "x", "1k", "policy=maybe");
		Fails("bad timeout 'soon'", "new", "x", "1k", "timeout=soon");
		Fails("bad readahead '1q'", "new", "x", "1k", "readahead=1q");
		Assert.Equal("m 1024 0 0 no 0 0\n", Ok("ls"));
	}

	[Fact]
	public void UnknownMap()
	{
		foreach (var args in new[] { new[] { "stat", "nosuch" }, ["rm", "nosuch"], ["rm", "-f", "nosuch"], ["set", "nosuch", "readahead=4k"],
			["prefetch", "nosuch"], ["cat", "nosuch"], ["err", "nosuch"] })
			Fails("no map 'nosuch'", args);
		var w = Mapctl("stat", "-w", "-n", "2", "nosuch");
		Assert.Equal(1, w.Code);
		Assert.Equal("mapctl: no map 'nosuch'\n", w.Err);
	}

	[Fact]
	public void NoPagerd()
	{
		var dir = TempDir();
		var r = Cmd.Run("mapctl", ["ls"], null, new Dictionary<string, string> { ["PAGERDIR"] = dir });
		Assert.Equal(1, r.Code);
		Assert.Equal($"mapctl: cannot reach pagerd at {dir}: connect {dir}/sock: No such file or directory\n", r.Err);
		Fails("cannot reach pagerd at /nonexistent: connect /nonexistent/sock: No such file or directory",
			"-d", "/nonexistent", "new", "m", "1k");
		Fails("cannot reach pagerd at /nonexistent: connect /nonexistent/sock: No such file or directory",
			"cat", "m", "-d", "/nonexistent");
	}

	/// -d names the namespace, before or after the verb, over $PAGERDIR.
	[Fact]
	public void NamespaceOption()
	{
		d.Ctl("new here 4k");
		var env = new Dictionary<string, string> { ["PAGERDIR"] = "/nonexistent" };
		foreach (var args in new[] { new[] { "-d", d.Root, "ls" }, ["ls", "-d", d.Root] })
		{
			var r = Cmd.Run("mapctl", args, null, env);
			Assert.Equal(0, r.Code);
			Assert.Equal("here 4096 0 0 no 0 0\n", r.Text);
		}
	}

	/// A bad command line fails too; its words are System.CommandLine's.
	[Fact]
	public void BadCommandLine()
	{
		foreach (var args in new[] { Array.Empty<string>(), ["bogus"], ["new", "m"], ["stat"], ["set", "m"], ["ls", "extra"], ["-d"], ["rm", "-x", "m"] })
		{
			var r = Mapctl(args);
			Assert.True(r.Code == 1, $"mapctl {string.Join(' ', args)}: exit {r.Code}");
			Assert.NotEqual("", r.Err);
		}
		Assert.Equal("", Ok("ls"));
	}

	[Fact]
	public void Set()
	{
		Ok("new", "m", "64k");
		Assert.Equal("", Ok("set", "m", "policy=wait", "readahead=16k", "timeout=2s", "source=zero", "offset=4k"));
		var s = Ok("stat", "m");
		foreach (var line in new[] { "policy wait", "readahead 16k", "timeout 2000ms", "source zero", "offset 4096" })
			Assert.Contains(line + "\n", s);
		Fails("option 'pagesize' is fixed when the map is made", "set", "m", "pagesize=8k");
		Fails("option 'mode' is fixed when the map is made", "set", "m", "mode=ro");
		Fails("bad policy 'bad': want wait, zero or sigbus", "set", "m", "policy=bad");
		Fails("unknown option 'color'", "set", "m", "color=red");
		// source=none: faults wait for a pager again.
		Assert.Equal("", Ok("set", "m", "source=none", "timeout=none"));
		s = Ok("stat", "m");
		Assert.Contains("source none\n", s);
		Assert.Contains("timeout none\n", s);
	}

	/// pagerd applies the options of a set one by one, so a bad one after
	/// a good one leaves the good one made, though mapctl says it failed.
	[Fact]
	public void SetIsAllOrNothing()
	{
		Ok("new", "m", "64k");
		Fails("bad policy 'bad': want wait, zero or sigbus", "set", "m", "readahead=16k", "policy=bad");
		Assert.Contains("readahead 0\n", Ok("stat", "m"));
	}

	[Fact]
	public void RmRefusesAMapWithClients()
	{
		Ok("new", "m", "8k", "source=zero");
		using (var client = d.Attach("m", readOnly: true))
		{
			Cmd.WaitFor(() => d.Stat("m", "clients") == 1, "the client to attach");
			Fails("map 'm' has 1 clients attached (force drops them)", "rm", "m");
			Assert.Equal("m 8192 0 1 no 0 0\n", Ok("ls"));
			Assert.Equal("", Ok("rm", "-f", "m"));
			Assert.Equal("", Ok("ls"));
		}
		Assert.Equal("", Ok("ls"));
	}

	[Fact]
	public void StatWatch()
	{
		Ok("new", "m", "20000", "source=zero");
		Cat("m");
		var t = DateTime.UtcNow;
		var lines = Ok("stat", "-w", "-n", "2", "m").Split('\n', StringSplitOptions.RemoveEmptyEntries);
		Assert.True(DateTime.UtcNow - t >= TimeSpan.FromSeconds(1), "-w printed its lines less than a second apart");
		Assert.Equal(3, lines.Length);
		Assert.Equal(["resident", "faults", "requests", "fills", "filled", "waiting", "dirty", "errors"], Words(lines[0]));
		Assert.All(lines[1..], l => Assert.Equal(["5", "5", "5", "5", "20480", "0", "0", "0"], Words(l)));
		// Without -w, -n changes nothing.
		Assert.Equal(Ok("stat", "m"), Ok("stat", "-n", "2", "m"));
	}

	static string[] Words(string l) => l.Split(' ', StringSplitOptions.RemoveEmptyEntries);

	/// prefetch asks the built-in source for what is missing; the pages
	/// are then there with no fault at all.
	[Fact]
	public void PrefetchFromTheBuiltInSource()
	{
		var f = RandomFile(100_001, name: "img");
		var bytes = File.ReadAllBytes(f);
		Ok("new", "m", bytes.Length.ToString(), $"source=file:{f}");
		Assert.Equal("", Ok("prefetch", "m", "4096", "8k"));
		Cmd.WaitFor(() => d.Stat("m", "resident") == 2, "two pages prefetched");
		Assert.Equal("", Ok("prefetch", "m", "96k"));
		Cmd.WaitFor(() => d.Stat("m", "resident") == 3, "the last page prefetched");
		Assert.Equal("", Ok("prefetch", "m"));
		Cmd.WaitFor(() => d.Stat("m", "resident") == Pages(bytes.Length), "the whole map prefetched");
		Assert.Equal(0, d.Stat("m", "faults"));
		Assert.Equal(bytes, Cat("m"));
		Assert.Equal(0, d.Stat("m", "faults"));
		Fails("range 1 2 of map m is not page-aligned", "prefetch", "m", "1", "2");
		Fails("range 0 1048576 is outside map m (size 100001)", "prefetch", "m", "0", "1m");
	}

	/// prefetch asks an attached pager, like a fault does.
	[Fact]
	public void PrefetchFromAPager()
	{
		var f = RandomFile(50_000, name: "img");
		var bytes = File.ReadAllBytes(f);
		Ok("new", "m", bytes.Length.ToString());
		var trace = Path.Combine(TempDir(), "trace");
		Bg("/bin/sh", "-c", $"faultcat -w {trace} m | pagefill file:{f} >$PAGERDIR/m/fill");
		WaitPager("m");
		Ok("prefetch", "m", "8k", "8k");
		Cmd.WaitFor(() => d.Stat("m", "resident") == 2, "two pages from the pager");
		Assert.Matches(@"^read m 8192 8192 size=50000 t=\d+$", Assert.Single(File.ReadAllLines(trace), l => !l.StartsWith('#')));
		Assert.Equal(bytes, Cat("m"));
	}

	[Fact]
	public void CatRanges()
	{
		var f = RandomFile(30_001, name: "img");
		var bytes = File.ReadAllBytes(f);
		Ok("new", "m", bytes.Length.ToString(), $"source=file:{f}");
		Assert.Equal(bytes, Cat("m"));
		Assert.Equal(bytes[5000..15000], Cat("m", "5000", "10000"));
		Assert.Equal(bytes[1024..], Cat("m", "1k"));
		Assert.Equal(bytes[0x2000..0x2010], Cat("m", "0x2000", "0x10"));
		Assert.Equal(bytes[^1..], Cat("m", (bytes.Length - 1).ToString()));
		Assert.Empty(Cat("m", bytes.Length.ToString()));
		Fails($"cat m: 0+{bytes.Length + 1} goes past the end of the map (size {bytes.Length})", "cat", "m", "0", (bytes.Length + 1).ToString());
		Fails($"cat m: offset {bytes.Length + 4096} is past the end of the map (size {bytes.Length})", "cat", "m", (bytes.Length + 4096).ToString());
		var past = Mapctl("cat", "m", (bytes.Length + 1).ToString());
		Assert.Equal(1, past.Code);
		Assert.StartsWith($"mapctl: cat m: offset {bytes.Length + 1} is past the end", past.Err);
		Fails("bad offset 'x'", "cat", "m", "x");
	}

	/// A page nobody can supply, under policy=sigbus: cat dies of SIGBUS.
	[Fact]
	public void CatOfAPageThatCannotBeHad()
	{
		Ok("new", "m", "8k", "timeout=300ms");
		var r = Mapctl("cat", "m");
		Assert.Equal(128 + 7, r.Code);
		Assert.Empty(r.Out);
		Assert.Matches(@" 0 4096 timeout: no pager answered in 0\.3s\n$", Ok("err", "m"));
	}

	/// Error replies and malformed lines on fill are recorded: err lists
	/// them, ls counts them.
	[Fact]
	public void ErrAfterAnErrorReply()
	{
		Ok("new", "m", "8k");
		Assert.Equal("", Ok("err", "m"));
		var r = Cmd.Sh("echo 'error m 4096 4096 disk on fire' >$PAGERDIR/m/fill; echo 'bogus m 0' >$PAGERDIR/m/fill", Env);
		Assert.Equal(0, r.Code);
		Cmd.WaitFor(() => d.Stat("m", "errors") == 2, "two errors recorded");
		var lines = Ok("err", "m").Split('\n', StringSplitOptions.RemoveEmptyEntries);
		Assert.Equal(2, lines.Length);
		const string t = @"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ";
		Assert.Matches(t + "4096 4096 pager: disk on fire$", lines[0]);
		Assert.Matches(t + "0 0 bad input: unknown verb 'bogus'", lines[1]);
		Assert.Equal("m 8192 0 0 no 0 2\n", Ok("ls"));
	}

	/// A real pager that cannot read its file: with policy=zero the client
	/// gets zeros, and err says why.
	[Fact]
	public void ErrFromAFailingPager()
	{
		Ok("new", "m", "5000", "policy=zero");
		Bg("/bin/sh", "-c", "faultcat m | pagefill file:/nonexistent/img >$PAGERDIR/m/fill");
		WaitPager("m");
		Assert.Equal(new byte[5000], Cat("m"));
		var lines = Ok("err", "m").Split('\n', StringSplitOptions.RemoveEmptyEntries);
		Assert.Equal(2, lines.Length);
		Assert.Matches(" 0 4096 pager: file:/nonexistent/img: no such file or directory$", lines[0]);
		Assert.Matches(" 4096 4096 pager: file:/nonexistent/img: no such file or directory$", lines[1]);
		Assert.Equal("m 5000 2 0 yes 2 2\n", Ok("ls"));
	}

	/// cat should stop once the reader of its output has gone.
	[Fact]
	public void CatStopsWhenItsReaderGoes()
	{
		Ok("new", "big", "64m", "source=zero");
		var rc = Path.Combine(tmp, "rc");
		var r = Cmd.Sh($"{{ mapctl cat big; echo $? >{rc}; }} | head -c 10 >/dev/null", Env);
		Assert.Equal(0, r.Code);
		Assert.Equal("", r.Err);
		Assert.Equal("0\n", File.ReadAllText(rc));
		Assert.InRange(d.Stat("big", "resident"), 1, 3 * 256);
	}

	/// A bad command line should get one line in the form of the others,
	/// and the usage, on standard error, as with faultcat and pagefill.
	[Fact]
	public void BadCommandLineIsOneMessage()
	{
		foreach (var args in new[] { new[] { "new", "m" }, ["bogus"], [] })
		{
			var r = Mapctl(args);
			Assert.Equal(1, r.Code);
			Assert.Equal("", r.Text);
			Assert.StartsWith("mapctl: ", r.Err);
		}
	}

	/// The manual names every verb mapctl -h lists, each with the options
	/// its own -h lists, every key of stat and every option of new.
	[Fact]
	public void ManualNamesEveryVerbKeyAndOption()
	{
		var h = Ok("-h");
		var man = Man("mapctl.1");
		var syn = Regex.Match(man, @"^SYNOPSIS\n(.*?)\n\n", RegexOptions.Singleline | RegexOptions.Multiline).Groups[1].Value;
		var verbs = Regex.Matches(h[h.IndexOf("Commands:")..], @"^  ([a-z]+) ", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
		Assert.Superset(new HashSet<string> { "new", "rm", "set", "ls", "stat", "prefetch", "cat", "err" }, verbs.ToHashSet());
		foreach (var v in verbs)
		{
			Assert.Matches(new Regex($@"^ +mapctl \[ -d dir \] {v}\b", RegexOptions.Multiline), syn);
			Assert.Matches(new Regex($@"^       {v}\b", RegexOptions.Multiline), man);
			var vh = Ok(v, "-h");
			Assert.Contains($"mapctl {v}", vh);
			// -d is everyone's, in front; the others are the verb's own.
			foreach (Match o in Regex.Matches(vh, @"^  (-[a-ce-z]) ", RegexOptions.Multiline))
				Assert.Matches(new Regex($@"^ +mapctl \[ -d dir \] {v} .*\{o.Groups[1].Value}\b", RegexOptions.Multiline), syn);
		}
		Assert.Equal(verbs.Count, Regex.Matches(syn, @"^ +mapctl ", RegexOptions.Multiline).Count);
		Assert.Contains("name size resident clients pager faults errors", man);

		Ok("new", "m", "4k");
		var keys = Ok("stat", "m").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]).ToList();
		Assert.Superset(StatKeys.ToHashSet(), keys.ToHashSet());
		var stat = man[man.IndexOf("       stat   ")..man.IndexOf("       prefetch")];
		foreach (var k in keys)
			Assert.Matches(new Regex($@"\b{k}\b"), stat);
		// The options: the keys between size and resident.
		foreach (var k in keys[(keys.IndexOf("size") + 1)..keys.IndexOf("resident")])
			Assert.Matches(new Regex($@"^ +{k}=", RegexOptions.Multiline), man);
	}


	/// The EXAMPLES, in order, as one sh script, with the rc pagers on PATH.
	[Fact]
	public void ManualExamplesRun()
	{
		var src = File.ReadAllText(Path.Combine(Cmd.Repo, "man", "mapctl.1"));
		var ex = src[src.IndexOf(".SH EXAMPLES")..src.IndexOf(".SH FILES")];
		var script = string.Join("\n", Regex.Matches(ex, @"^\.EX\n(.*?)^\.EE\n", RegexOptions.Singleline | RegexOptions.Multiline)
			.Select(m => m.Groups[1].Value.Replace(@"\e", @"\")));
		Assert.Equal(22, script.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
		var env = Env;
		env["PATH"] = Path.Combine(Cmd.Repo, "rc") + ":" + Cmd.SearchPath;
		var r = Cmd.Run("/bin/sh", ["-e", "-c", script], null, env);
		Assert.True(r.Code == 0, $"exit {r.Code}: {r.Err}");
		Assert.Equal("", r.Err);
		var o = r.Text;
		Assert.StartsWith(string.Join("\n", File.ReadLines("/etc/services").Take(3)) + "\n", o);
		Assert.Contains("services 12288 3 0 no 3 0\n", o);
		Assert.Matches(@"\n *resident +faults +requests +fills +filled +waiting +dirty +errors\n( +3 +3 +3 +3 +12288 +0 +0 +0\n){3}map +faults/s .* pager\n(services +0 +0 +0\.0 +0 +12k/- +0 +0 +- +0 +no\n){2}resident 3\n", o);
		Assert.Contains("\n000000 9e3779b97f5a7c15 9e3779b97f5a7c1d\n000010\npat 67108864 1 0 yes 1 0\n8192\n", o);
		Assert.Matches(@"Z 4096 4096 timeout: no pager answered in 1s\nsame\n$", o);
		Assert.Equal("", Ok("ls"));
	}
}
