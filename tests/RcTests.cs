using System.Text.RegularExpressions;
using Xunit;

namespace Pager.Tests;

/// The pagers of rc/, run as a user runs them, against a real pagerd.
public class RcTests : PagerdTest
{
	/// A map over a file whose name has a blank, served by the script from
	/// another directory by a relative name.
	[Fact]
	public void AwkpagerServesAFile()
	{
		var f = RandomFile(1_500_123, name: "random bytes");
		var bytes = File.ReadAllBytes(f);
		New("awk", bytes.Length);
		Bg("/bin/sh", "-c", $"cd {Path.GetDirectoryName(f)} && exec {Rc("awkpager")} awk 'random bytes'");
		WaitPager("awk");
		Assert.Equal(bytes, Cat("awk"));
		Assert.Equal(Pages(bytes.Length), d.Stat("awk", "resident"));
		Assert.Equal(Pages(bytes.Length), d.Stat("awk", "requests"));
		Assert.Equal("0", d.Get("awk", "errors"));
	}

	[Fact]
	public void AwkpagerUsage()
	{
		var r = Cmd.Run(Rc("awkpager"), ["m"], null, Env);
		Assert.Equal(1, r.Code);
		Assert.Equal("usage: awkpager map file\n", r.Err);
		r = Cmd.Run(Rc("awkpager"), ["m", "/nonexistent/file"], null, Env);
		Assert.Equal(1, r.Code);
		Assert.Equal("awkpager: cannot read /nonexistent/file\n", r.Err);
	}

	/// Requests pass through; two equal steps start a run of k more, a
	/// fault just past the run carries it on, faults on pages on their way
	/// change nothing, the map's end stops it, and strides go backwards too.
	[Fact]
	public void StrideAddsRequests()
	{
		string S(long off, string more = "") => $"read m {off} 4096{more}\n";
		const string size = " size=200000";
		var input = S(0, " tid=1" + size) + S(12288, size) + "sync m 1\n" + S(24576, size) +
			S(36864, " tid=1" + size) + S(73728, size) + S(4096, size) + S(110592, size) + S(8192, size);
		var r = Cmd.Run(Rc("stride"), ["-k", "3"], Streams.B(input));
		Assert.Equal(0, r.Code);
		Assert.Equal("", r.Err);
		Assert.Equal(
			S(0, " tid=1" + size) + S(12288, size) + "sync m 1\n" + S(24576, size) +
			S(36864, size) + S(49152, size) + S(61440, size) +
			S(36864, " tid=1" + size) +
			S(73728, size) + S(86016, size) + S(98304, size) + S(110592, size) +
			S(4096, size) + S(110592, size) + S(8192, size) +
			"", r.Text);
		var back = Cmd.Run(Rc("stride"), ["-k", "2"], Streams.B(S(40960) + S(32768) + S(24576)));
		Assert.Equal(S(40960) + S(32768) + S(24576) + S(16384) + S(8192), back.Text);
		var end = Cmd.Run(Rc("stride"), ["-k", "5"], Streams.B(S(0, " size=20000") + S(4096) + S(8192)));
		Assert.Equal(S(0, " size=20000") + S(4096) + S(8192) + S(12288, " size=20000") + S(16384, " size=20000"), end.Text);
		foreach (var bad in new[] { new[] { "-k" }, ["-k", "3x"], ["x"] })
		{
			var u = Cmd.Run(Rc("stride"), bad, []);
			Assert.Equal(1, u.Code);
			Assert.Equal("usage: stride [-k n]\n", u.Err);
		}
	}

	/// Between faultcat and pagefill, serving a sequential reader: most
	/// pages are asked for by stride, not by a fault.
	[Fact]
	public void StrideServesAMap()
	{
		var f = RandomFile(2_000_001, name: "img");
		var bytes = File.ReadAllBytes(f);
		New("seq", bytes.Length);
		var t = Path.Combine(TempDir(), "trace");
		Bg("/bin/sh", "-c", $"faultcat seq | {Rc("stride")} -k 16 | faultcat -w {t} | pagefill file:{f} >$PAGERDIR/seq/fill");
		WaitPager("seq");
		Assert.Equal(bytes, Cat("seq"));
		Assert.Equal("0", d.Get("seq", "errors"));
		var added = File.ReadAllLines(t).Where(l => !l.Contains(" tid=") && !l.StartsWith('#')).ToList();
		Assert.InRange(added.Count, Pages(bytes.Length) / 2, Pages(bytes.Length));
		Assert.All(added, l => Assert.Matches($@"^read seq \d+ 4096 size={bytes.Length}$", l));
		Assert.All(added, l => Assert.InRange(long.Parse(l.Split(' ')[2]), 0, bytes.Length - 1));
	}

	/// Touching pages 0, 5 and 10 brings 15, 20, 25 and 30 unasked: reading
	/// them then faults no more.
	[Fact]
	public void StrideFollowsAStride()
	{
		var f = RandomFile(200_003, name: "img");
		var bytes = File.ReadAllBytes(f);
		New("str", bytes.Length);
		Bg("/bin/sh", "-c", $"faultcat str | {Rc("stride")} -k 4 | pagefill file:{f} >$PAGERDIR/str/fill");
		WaitPager("str");
		foreach (var p in new[] { 0, 5, 10 })
			Assert.Equal(bytes[(p * 4096)..(p * 4096 + 1)], Cat("str", (p * 4096).ToString(), "1"));
		Cmd.WaitFor(() => d.Stat("str", "resident") == 7, "seven pages resident");
		Assert.Equal(3, d.Stat("str", "faults"));
		foreach (var p in new[] { 15, 20, 25, 30 })
			Assert.Equal(bytes[(p * 4096)..(p * 4096 + 4096)], Cat("str", (p * 4096).ToString(), "4096"));
		Assert.Equal(3, d.Stat("str", "faults"));
		Assert.Equal(7, d.Stat("str", "resident"));
	}

	static readonly Regex SummaryLine = new(@"^(\S+) +(\d+) pages +(\d+) requests$");

	/// The summary: region → pages, checking each line's form.
	static Dictionary<string, long> Summary(string err)
	{
		var d = new Dictionary<string, long>();
		foreach (var l in err.Split('\n', StringSplitOptions.RemoveEmptyEntries))
		{
			var m = SummaryLine.Match(l);
			Assert.True(m.Success, $"not a summary line: '{l}'");
			Assert.True(long.Parse(m.Groups[3].Value) >= long.Parse(m.Groups[2].Value), l);
			d[m.Groups[1].Value] = long.Parse(m.Groups[2].Value);
		}
		return d;
	}

	[Fact]
	public void TraceSummarisesRegions()
	{
		var f = RandomFile((3 << 20) + 1234, name: "img");
		var bytes = File.ReadAllBytes(f);
		New("tr", bytes.Length);
		var t = Path.Combine(TempDir(), "trace");
		// A byte of region 0, and 100000 bytes from 2.5m: pages 640 to 664, in region 2.
		var r = Cmd.Run(Rc("trace"), ["-w", t, "tr", f, "rc", "-c", "mapctl cat tr 0 10 >/dev/null; mapctl cat tr 2621440 100000 >/dev/null"], null, Env);
		Assert.True(r.Code == 0, r.Err);
		Assert.Equal(new Dictionary<string, long> { ["0x0"] = 1, ["0x200000"] = 25, ["total"] = 26 }, Summary(r.Err));
		var reads = File.ReadAllLines(t).Where(l => !l.StartsWith('#')).ToArray();
		Assert.Equal(26, reads.Length);
		Assert.All(reads, l => Assert.Matches($@"^read tr \d+ 4096 tid=\d+ size={bytes.Length} t=\d+$", l));
		Cmd.WaitFor(() => d.Get("tr", "pager") == "no", "trace to stop its pager");

		// All of it, by regions of 1m: what is left of each.
		r = Cmd.Run(Rc("trace"), ["tr", f, "mapctl", "cat", "tr"], null, Env);
		Assert.True(r.Code == 0, r.Err);
		Assert.Equal(bytes, r.Out);
		Assert.Equal(new Dictionary<string, long> { ["0x0"] = 255, ["0x100000"] = 256, ["0x200000"] = 231, ["0x300000"] = 1, ["total"] = 743 },
			Summary(r.Err));

		// Regions of 512k; the command's failure is the script's.
		Cmd.WaitFor(() => d.Get("tr", "pager") == "no", "trace to stop its pager");
		d.Ctl("rm tr");
		New("tr", bytes.Length);
		r = Cmd.Run(Rc("trace"), ["-r", "512k", "tr", f, "rc", "-c", "mapctl cat tr 600000 1 >/dev/null; exit oops"], null, Env);
		Assert.Equal(1, r.Code);
		Assert.Equal(new Dictionary<string, long> { ["0x80000"] = 1, ["total"] = 1 }, Summary(r.Err));
	}

	[Fact]
	public void TraceUsage()
	{
		foreach (var args in new[] { new[] { "m", "f" }, ["-r"], ["-x", "m", "f", "true"], [] })
		{
			var r = Cmd.Run(Rc("trace"), args, null, Env);
			Assert.Equal(1, r.Code);
			Assert.Equal("usage: trace [-r region] [-w trace] map file command [arg ...]\n", r.Err);
		}
		var none = Cmd.Run(Rc("trace"), ["nosuch", "/etc/services", "true"], null, Env, TimeSpan.FromSeconds(5));
		Assert.Equal(1, none.Code);
		Assert.Equal("mapctl: no map 'nosuch'\n", none.Err);
	}

	/// A trace of the second megabyte, replayed on a fresh map: those 256
	/// pages are there before the client starts, and it faults only on
	/// the rest.
	[Fact]
	public void ReplayPrefetchesTheTrace()
	{
		var f = RandomFile((3 << 20) + 1234, name: "img");
		var bytes = File.ReadAllBytes(f);
		long pages = Pages(bytes.Length);
		var dir = TempDir();
		var t = Path.Combine(dir, "trace");
		New("rec", bytes.Length);
		var r = Cmd.Run(Rc("trace"), ["-w", t, "rec", f, "rc", "-c", "mapctl cat rec 1m 1m >/dev/null"], null, Env);
		Assert.True(r.Code == 0, r.Err);
		Assert.Equal(256, d.Stat("rec", "faults"));

		New("play", bytes.Length);
		var before = Path.Combine(dir, "before");
		var out_ = Path.Combine(dir, "out");
		r = Cmd.Run(Rc("replay"), ["play", f, t, "rc", "-c", $"mapctl stat play >{before}; mapctl cat play >{out_}"], null, Env);
		Assert.True(r.Code == 0, r.Err);
		Assert.Equal("", r.Err);
		var stat = Protocol.Status.Parse(File.ReadAllText(before));
		Assert.Equal("256", stat["resident"]);
		Assert.Equal("0", stat["faults"]);
		Assert.Equal("yes", stat["pager"]);
		Assert.Equal(bytes, File.ReadAllBytes(out_));
		Assert.InRange(d.Stat("play", "faults"), pages - 256 - 8, pages - 256);
		Assert.Equal(pages, d.Stat("play", "resident"));
		Assert.Equal("0", d.Get("play", "errors"));
		Cmd.WaitFor(() => d.Get("play", "pager") == "no", "replay to stop its pager");
	}

	[Fact]
	public void ReplayUsage()
	{
		var r = Cmd.Run(Rc("replay"), ["m", "f", "t"], null, Env);
		Assert.Equal(1, r.Code);
		Assert.Equal("usage: replay map file trace command [arg ...]\n", r.Err);
		r = Cmd.Run(Rc("replay"), ["m", "f", "/nonexistent/trace", "true"], null, Env);
		Assert.Equal(1, r.Code);
		Assert.Equal("replay: cannot read /nonexistent/trace\n", r.Err);
		r = Cmd.Run(Rc("replay"), ["nosuch", "/etc/services", "/etc/services", "true"], null, Env, TimeSpan.FromSeconds(5));
		Assert.Equal(1, r.Code);
		Assert.Equal("mapctl: no map 'nosuch'\n", r.Err);
	}

	/// Each script says what it shows and how to run it, and is short.
	[Fact]
	public void ScriptsAreShortAndSayHowToRunThem()
	{
		foreach (var s in new[] { "awkpager", "stride", "trace", "replay" })
		{
			var lines = File.ReadAllLines(Rc(s));
			Assert.Equal("#!/usr/lib/plan9/bin/rc", lines[0]);
			Assert.StartsWith($"# {s} ", lines[1]);
			Assert.True(lines.Skip(1).TakeWhile(l => l.StartsWith('#')).Count() >= 8, $"{s}: comment too short");
			Assert.True(lines.Length <= 100, $"{s}: {lines.Length} lines");
			Assert.True(Cmd.Run("/usr/bin/test", "-x", Rc(s)).Code == 0, $"{s} is not executable");
		}
	}

	/// The README's first command after setup, as it is written: the demo
	/// ends with status 0 and says the map equals the file.
	[Fact]
	public void DemoRunsAsTheReadmeSays()
	{
		var readme = File.ReadAllText(Path.Combine(Cmd.Repo, "README.md"));
		Assert.Contains("    sh .ci/setup && ./rc/demo\n", readme);
		var r = Cmd.Sh($"cd {Cmd.Repo} && ./rc/demo", null, TimeSpan.FromMinutes(3));
		Assert.True(r.Code == 0, $"./rc/demo: exit {r.Code}: {r.Err}");
		Assert.Contains("the map equals the file: 8392704 bytes", r.Text);
		Assert.Equal("", r.Err);
	}
}
