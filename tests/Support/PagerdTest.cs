using System.Diagnostics;
using System.Text;
using Xunit;

namespace Pager.Tests;

/// The one base for tests with a pagerd of their own: the daemon, a
/// scratch directory, random files in it, and the processes a test starts
/// in the background, each killed with all its children when the test
/// ends. (Cmd kills whatever is left if the test host itself goes down.)
public abstract class PagerdTest : IDisposable
{
	protected readonly Pagerd d = new();
	protected readonly string tmp = Directory.CreateTempSubdirectory("pager-test").FullName;
	readonly List<Process> procs = [];
	readonly Dictionary<Process, StringBuilder> errs = [];
	readonly List<IDisposable> kept = [];

	protected Dictionary<string, string> Env => d.Env;

	protected static string Rc(string name) => Path.Combine(Cmd.Repo, "rc", name);

	protected static long Pages(long size) => (size + 4095) / 4096;

	/// A file of size random bytes (the same bytes for the same seed),
	/// named name in the scratch directory (or the path name).
	protected string RandomFile(long size, int seed = 1, string? name = null)
	{
		var b = new byte[size];
		new Random(seed).NextBytes(b);
		var path = Path.Combine(tmp, name ?? $"src{seed}-{size}");
		File.WriteAllBytes(path, b);
		return path;
	}

	/// A map over a file of size random bytes, served by the standard
	/// pipeline, faultcat | pagefill file:; returns the file's path.
	protected string PipelineMap(string map, long size, params string[] opts)
	{
		var f = RandomFile(size, name: map + ".img");
		New(map, size, opts);
		Bg("/bin/sh", "-c", $"faultcat {map} | pagefill file:{f} >$PAGERDIR/{map}/fill");
		WaitPager(map);
		return f;
	}

	/// A map served by pagefill -m over 9P from a diod of the test's own,
	/// exporting a directory that holds disk.img, size random bytes;
	/// returns the file's path and the server, to stop and start.
	protected (string File, Diod Diod) NinePMap(string map, int size)
	{
		var export = TempDir();
		var f = RandomFile(size, 9, Path.Combine(export, "disk.img"));
		var diod = Keep(Diod.Start(export));
		New(map, size);
		Bg("pagefill", "-m", map, "-A", export, diod.Source("disk.img"));
		WaitPager(map);
		return (f, diod);
	}

	/// A new directory inside the scratch directory.
	protected string TempDir() => Directory.CreateDirectory(Path.Combine(tmp, $"dir-{Guid.NewGuid():N}")).FullName;

	protected void New(string map, long size, params string[] opts) =>
		d.Ctl($"new {map} {size} {string.Join(' ', opts)}");

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
		p.ErrorDataReceived += (_, line) =>
		{
			if (line.Data is not null)
				lock (err)
					err.AppendLine(line.Data);
		};
		p.BeginErrorReadLine();
		p.StandardInput.Close();
		_ = Streams.Collect(p.StandardOutput.BaseStream);
		return p;
	}

	/// What a process started with Bg has written on its standard error.
	protected string Errors(Process p)
	{
		var b = errs[p];
		lock (b)
			return b.ToString();
	}

	/// Makes thing the test's to dispose of when it ends, after its
	/// processes and its pagerd (a server the pagers talked to, say).
	protected T Keep<T>(T thing) where T : IDisposable
	{
		kept.Add(thing);
		return thing;
	}

	/// Makes p the test's to kill when it ends.
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

	protected void WaitPager(string map) =>
		Cmd.WaitFor(() => d.Get(map, "pager") == "yes", $"a pager on map {map}");

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
		d.Dispose();
		foreach (var k in Enumerable.Reverse(kept))
			k.Dispose();
		Directory.Delete(tmp, true);
		GC.SuppressFinalize(this);
	}
}
