using System.Diagnostics;
using System.Text;
using Pager.Sources;
using Xunit;

namespace Pager.Tests;

/// faultcat and pagefill as pagers of a real pagerd, read by mapctl cat.
public class PipelineTests : PagerdTest
{
	[Fact]
	public void FileReplies()
	{
		var f = RandomFile(2_000_003, name: "img");
		var bytes = File.ReadAllBytes(f);
		New("img", bytes.Length);
		Bg("/bin/sh", "-c", $"faultcat img | pagefill file:{f} >$PAGERDIR/img/fill");
		WaitPager("img");
		Assert.Equal(bytes, Cat("img"));
		Assert.Equal(Pages(bytes.Length), d.Stat("img", "resident"));
		Assert.Equal("0", d.Get("img", "errors"));
	}

	/// Inline data for pagerd's read-ahead of eight pages: a request in
	/// eight pages, each answered in frames of PIPE_BUF.
	[Fact]
	public void InlineData()
	{
		var f = RandomFile(1_000_001, name: "img");
		var bytes = File.ReadAllBytes(f);
		New("img", bytes.Length, "readahead=32k");
		Bg("/bin/sh", "-c", $"faultcat img | pagefill -i file:{f} >$PAGERDIR/img/fill");
		Assert.Equal(bytes, Cat("img"));
		Assert.Equal("0", d.Get("img", "errors"));
		Assert.Equal((Pages(bytes.Length) + 7) / 8, d.Stat("img", "requests"));
	}

	[Fact]
	public void PatternOnTheMapsFifos()
	{
		const int size = 3 * 65536 + 99;
		New("pat", size);
		Bg("pagefill", "-m", "pat", "pattern");
		var b = Cat("pat");
		Assert.Equal(size, b.Length);
		Assert.Equal(-1, Pattern.Check(0, b));
		var part = Cat("pat", "0x10000", "100");
		Assert.Equal(-1, Pattern.Check(0x10000, part));
	}

	/// One faultcat feeds two pagers through tee, each taking half the map
	/// and writing the same fill FIFO: file bytes inline below the middle,
	/// the pattern with read-ahead above it. Two clients read the halves at
	/// once, so both write together, many PIPE_BUF frames each.
	[Fact]
	public void TwoWritersOnOneFill()
	{
		const long half = 1 << 20;
		var f = RandomFile((int)half + 700_001, name: "img");
		var bytes = File.ReadAllBytes(f);
		New("two", bytes.Length);
		Bg("rc", "-c", $"fill=$PAGERDIR/two/fill; faultcat two | tee >{{faultcat -o 0-{half} | pagefill -i file:{f} >$fill}} " +
			$"| faultcat -o {half}- | pagefill -a 64k pattern >$fill");
		WaitPager("two");
		var got = Together(() => Cat("two", "0", half.ToString()), () => Cat("two", half.ToString()));
		Assert.Equal(bytes[..(int)half], got[0]);
		Assert.Equal(bytes.Length - half, got[1].Length);
		Assert.Equal(-1, Pattern.Check(half, got[1]));
		Assert.Equal("0", d.Get("two", "errors"));
		var all = Cat("two");
		Assert.Equal(bytes[..(int)half], all[..(int)half]);
		Assert.Equal(-1, Pattern.Check(half, all.AsSpan((int)half)));
	}

	/// A slow pager is killed while a client reads; what it was asked and
	/// never answered goes to the next one, and the client gets every byte.
	[Fact]
	public void PagerKilledMidRun()
	{
		var f = RandomFile(1_500_007, name: "img");
		var bytes = File.ReadAllBytes(f);
		New("slow", bytes.Length);
		var slow = Bg("/bin/sh", "-c",
			$"faultcat slow | while read -r l; do echo \"$l\"; /bin/sleep 0.02; done | pagefill file:{f} >$PAGERDIR/slow/fill");
		WaitPager("slow");
		var client = Cmd.Start("mapctl", ["cat", "slow"], Env);
		client.StandardInput.Close();
		var got = Streams.Collect(client.StandardOutput.BaseStream);
		Track(client);
		Cmd.WaitFor(() => d.Stat("slow", "resident") >= 20, "the slow pager to fill 20 pages");
		Stop(slow);
		Cmd.WaitFor(() => d.Get("slow", "pager") == "no", "pagerd to see the pager gone");
		long before = d.Stat("slow", "resident");
		Assert.True(before < Pages(bytes.Length), "the slow pager finished before it was killed");
		Assert.False(client.HasExited);
		Bg("/bin/sh", "-c", $"faultcat slow | pagefill file:{f} >$PAGERDIR/slow/fill");
		Assert.Equal(0, Streams.Exit(client));
		Assert.Equal(bytes, Streams.Collected(got));
		Assert.Equal("0", d.Get("slow", "errors"));
		Cmd.WaitFor(() => d.Log.Contains("map slow: pager gone"), "pagerd to log that the pager went");
	}

	/// faultcat -x on a tee of the live request stream shows each fault of
	/// mapctl cat: its page, and the client's thread (its main thread: its pid).
	[Fact]
	public void ReadableFaultsOfARealClient()
	{
		var f = RandomFile(100_000, name: "img");
		var bytes = File.ReadAllBytes(f);
		New("x", bytes.Length);
		var shown = Path.Combine(TempDir(), "shown");
		Bg("rc", "-c", $"faultcat x | tee >{{faultcat -x >{shown}}} | pagefill file:{f} >$PAGERDIR/x/fill");
		WaitPager("x");
		var client = Cmd.Start("mapctl", ["cat", "x", "4096", "12288"], Env);
		Track(client);
		client.StandardInput.Close();
		var got = Streams.Collect(client.StandardOutput.BaseStream);
		Assert.Equal(0, Streams.Exit(client));
		Assert.Equal(bytes[4096..16384], Streams.Collected(got));
		string[] lines = [];
		// A request answered late is told of in a comment, which -x shows too.
		Cmd.WaitFor(() => (lines = [.. File.ReadAllLines(shown).Where(l => !l.StartsWith('#'))]).Length >= 3, "three lines from faultcat -x");
		Assert.Equal(3, lines.Length);
		for (int i = 0; i < 3; i++)
			Assert.Matches($@"^\d\d:\d\d:\d\d\.\d{{6}} read +x +0x{(i + 1) * 4096:x} +p{i + 1} +1p +{client.Id} +size={bytes.Length} +t=\d+$", lines[i]);
	}
}
