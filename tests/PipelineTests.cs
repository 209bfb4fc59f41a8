using System.Diagnostics;
using System.Text;
using Pager.Sources;
using Xunit;

namespace Pager.Tests;

/// faultcat and pagefill as pagers of a real pagerd, read by mapctl cat.
public class PipelineTests : Live
{
	[Fact]
	public void FileReplies()
	{
		var (f, bytes) = RandomFile("img", 2_000_003);
		New("img", bytes.Length);
		Bg("/bin/sh", "-c", $"faultcat img | pagefill file:{f} >$PAGERDIR/img/fill");
		WaitPager("img");
		Assert.Equal(bytes, Cat("img"));
		Assert.Equal(Pages(bytes.Length), Stat("img", "resident"));
		Assert.Equal("0", StatText("img", "errors"));
	}

	/// Inline data for pagerd's read-ahead of eight pages: a request in
	/// eight pages, each answered in frames of PIPE_BUF.
	[Fact]
	public void InlineData()
	{
		var (f, bytes) = RandomFile("img", 1_000_001);
		New("img", bytes.Length, "readahead=32k");
		Bg("/bin/sh", "-c", $"faultcat img | pagefill -i file:{f} >$PAGERDIR/img/fill");
		Assert.Equal(bytes, Cat("img"));
		Assert.Equal("0", StatText("img", "errors"));
		Assert.Equal((Pages(bytes.Length) + 7) / 8, Stat("img", "requests"));
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
		var (f, bytes) = RandomFile("img", (int)half + 700_001);
		New("two", bytes.Length);
		Bg("rc", "-c", $"fill=$PAGERDIR/two/fill; faultcat two | tee >{{faultcat -o 0-{half} | pagefill -i file:{f} >$fill}} " +
			$"| faultcat -o {half}- | pagefill -a 64k pattern >$fill");
		WaitPager("two");
		var got = Together(() => Cat("two", "0", half.ToString()), () => Cat("two", half.ToString()));
		Assert.Equal(bytes[..(int)half], got[0]);
		Assert.Equal(bytes.Length - half, got[1].Length);
		Assert.Equal(-1, Pattern.Check(half, got[1]));
		Assert.Equal("0", StatText("two", "errors"));
		var all = Cat("two");
		Assert.Equal(bytes[..(int)half], all[..(int)half]);
		Assert.Equal(-1, Pattern.Check(half, all.AsSpan((int)half)));
	}

	/// A slow pager is killed while a client reads; what it was asked and
	/// never answered goes to the next one, and the client gets every byte.
	[Fact]
	public void PagerKilledMidRun()
	{
		var (f, bytes) = RandomFile("img", 1_500_007);
		New("slow", bytes.Length);
		var slow = Bg("/bin/sh", "-c",
			$"faultcat slow | while read -r l; do echo \"$l\"; /bin/sleep 0.02; done | pagefill file:{f} >$PAGERDIR/slow/fill");
		WaitPager("slow");
		var client = Cmd.Start("mapctl", ["cat", "slow"], Env);
		client.StandardInput.Close();
		var got = Streams.Collect(client.StandardOutput.BaseStream);
		Track(client);
		Cmd.WaitFor(() => Stat("slow", "resident") >= 20, "the slow pager to fill 20 pages");
		Stop(slow);
		Cmd.WaitFor(() => StatText("slow", "pager") == "no", "pagerd to see the pager gone");
		long before = Stat("slow", "resident");
		Assert.True(before < Pages(bytes.Length), "the slow pager finished before it was killed");
		Assert.False(client.HasExited);
		Bg("/bin/sh", "-c", $"faultcat slow | pagefill file:{f} >$PAGERDIR/slow/fill");
		Assert.Equal(0, Streams.Exit(client));
		Assert.Equal(bytes, Streams.Collected(got));
		Assert.Equal("0", StatText("slow", "errors"));
		Cmd.WaitFor(() => P.Log.Contains("map slow: pager gone"), "pagerd to log that the pager went");
	}

	/// faultcat -x on a tee of the live request stream shows each fault of
	/// mapctl cat: its page, and the client's thread (its main thread: its pid).
	[Fact]
	public void ReadableFaultsOfARealClient()
	{
		var (f, bytes) = RandomFile("img", 100_000);
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

/// What the tests of live pipelines share: a pagerd of their own, random
/// files in a scratch directory, and the processes they start, each
/// killed with all its children when the test ends.
public abstract class Live : IDisposable
{
	protected readonly Pagerd P = new();
	readonly List<Process> procs = [];
	readonly List<string> dirs = [];
	readonly Dictionary<Process, StringBuilder> errs = [];

	protected Dictionary<string, string> Env => P.Env;

	protected static string Rc(string name) => Path.Combine(Cmd.Repo, "rc", name);

	protected static long Pages(long size) => (size + 4095) / 4096;

	protected string TempDir()
	{
		var d = Directory.CreateTempSubdirectory("pager-live-").FullName;
		dirs.Add(d);
		return d;
	}

	/// A file of random bytes, its size seldom a multiple of the page.
	protected (string Path, byte[] Bytes) RandomFile(string name, int size)
	{
		var b = new byte[size];
		new Random(size).NextBytes(b);
		var path = Path.Combine(TempDir(), name);
		File.WriteAllBytes(path, b);
		return (path, b);
	}

	protected void New(string map, long size, params string[] opts) =>
		P.Ctl($"new {map} {size} {string.Join(' ', opts)}");

	/// Starts a command in the background, with pagerd's namespace and
	/// the toolkit on PATH; its output is drained, its errors kept.
	protected Process Bg(string cmd, params string[] args) => Bg(cmd, args, null);

	protected Process Bg(string cmd, string[] args, Dictionary<string, string>? env)
	{
		var e = Env;
		foreach (var kv in env ?? [])
			e[kv.Key] = kv.Value;
		var p = Cmd.Start(cmd, args, e);
		Track(p);
		var err = errs[p] = new StringBuilder();
		p.ErrorDataReceived += (_, d) =>
		{
			if (d.Data is not null)
				lock (err)
					err.AppendLine(d.Data);
		};
		p.BeginErrorReadLine();
		p.StandardInput.Close();
		_ = Streams.Collect(p.StandardOutput.BaseStream);
		return p;
	}

	protected string Errors(Process p)
	{
		var b = errs[p];
		lock (b)
			return b.ToString();
	}

	protected void Track(Process p) => procs.Add(p);

	/// Kills p and everything it started, and waits for it.
	protected static void Stop(Process p)
	{
		try
		{
			if (!p.HasExited)
				p.Kill(true);
		}
		catch (InvalidOperationException)
		{
		}
		if (!p.WaitForExit(10_000))
			throw new TimeoutException($"{p.StartInfo.FileName} did not die");
	}

	protected string StatText(string map, string key) =>
		P.Ctl($"stat {map}").Select(l => l.Split(' ', 2)).First(f => f[0] == key)[1];

	protected long Stat(string map, string key) => long.Parse(StatText(map, key));

	protected void WaitPager(string map) =>
		Cmd.WaitFor(() => StatText(map, "pager") == "yes", $"a pager on map {map}");

	/// The map's bytes as mapctl cat gives them, checking it said nothing.
	protected byte[] Cat(string map, params string[] range)
	{
		var r = Cmd.Run("mapctl", ["cat", map, .. range], null, Env);
		Assert.True(r.Code == 0, $"mapctl cat {map}: exit {r.Code}: {r.Err}");
		Assert.Equal("", r.Err);
		return r.Out;
	}

	/// Runs the functions at once, each on a thread of its own.
	protected static T[] Together<T>(params Func<T>[] fs)
	{
		var tasks = fs.Select(f => Task.Factory.StartNew(f, TaskCreationOptions.LongRunning)).ToArray();
		Assert.True(Task.WaitAll(tasks, Cmd.Timeout), "timed out");
		return [.. tasks.Select(t => t.Result)];
	}

	/// Runs mapctl to completion.
	protected Cmd.Result Mapctl(params string[] args) => Cmd.Run("mapctl", args, null, Env);

	public void Dispose()
	{
		foreach (var p in procs)
		{
			try
			{
				Stop(p);
			}
			catch (TimeoutException)
			{
			}
			p.Dispose();
		}
		P.Dispose();
		foreach (var d in dirs)
			Directory.Delete(d, true);
		GC.SuppressFinalize(this);
	}
}
