using System.Diagnostics;
using System.Text;

namespace Pager.Tests;

/// Runs the toolkit's commands as a user does: as processes, with a
/// timeout on every wait.
public static class Cmd
{
	public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

	/// The checkout: the directory holding Tools.sln.
	public static string Repo { get; } = FindRepo();

	static string Config => AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug";

	/// The built command (the apphost next to its dll).
	public static string Bin(string name) => Path.Combine(Repo, "cmd", name, "bin", Config, "net10.0", name);

	/// A directory holding the four commands, for PATH.
	public static string BinDir { get; } = MakeBinDir();

	/// PATH with the commands first, then 9base's, then the system's.
	public static string SearchPath =>
		$"{BinDir}:/usr/lib/plan9/bin:{Environment.GetEnvironmentVariable("PATH")}";

	static string FindRepo()
	{
		for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
			if (File.Exists(Path.Combine(d.FullName, "Tools.sln")))
				return d.FullName;
		throw new InvalidOperationException("cannot find Tools.sln above " + AppContext.BaseDirectory);
	}

	static string MakeBinDir()
	{
		// Fresh each run: a directory left by an earlier run with the same
		// process id may hold links into a checkout that is gone.
		var dir = Path.Combine(Path.GetTempPath(), $"pager-bin-{Environment.ProcessId}-{Guid.NewGuid():N}");
		Directory.CreateDirectory(dir);
		foreach (var c in new[] { "pagerd", "mapctl", "faultcat", "pagefill" })
			File.CreateSymbolicLink(Path.Combine(dir, c), Bin(c));
		AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(dir, true);
		return dir;
	}

	static readonly List<Process> started = [];

	static Cmd()
	{
		// A test that fails disposes of what it started; these are for the
		// test host going down (an exception on a thread of its own, the
		// run's end), so that no pagerd outlives the run.
		AppDomain.CurrentDomain.ProcessExit += (_, _) => KillStarted();
		AppDomain.CurrentDomain.UnhandledException += (_, _) => KillStarted();
	}

	static void KillStarted()
	{
		lock (started)
			foreach (var p in started.Where(p => !Gone(p)))
				p.Kill(true);
	}

	/// True when p has exited, or was disposed of by the test that ran it.
	static bool Gone(Process p)
	{
		try
		{
			return p.HasExited;
		}
		catch (InvalidOperationException)
		{
			return true;
		}
	}

	/// Starts a command (one of the four by name, or any program) with its
	/// standard streams redirected; it is killed if the test host goes
	/// down before it ends.
	public static Process Start(string cmd, IEnumerable<string> args, IDictionary<string, string>? env = null)
	{
		var path = File.Exists(Bin(cmd)) ? Bin(cmd) : cmd;
		var psi = new ProcessStartInfo(path)
		{
			RedirectStandardInput = true,
			RedirectStandardOutput = true,
			RedirectStandardError = true,
			UseShellExecute = false,
		};
		foreach (var a in args)
			psi.ArgumentList.Add(a);
		psi.Environment["PATH"] = SearchPath;
		if (env is not null)
			foreach (var kv in env)
				psi.Environment[kv.Key] = kv.Value;
		var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start " + cmd);
		lock (started)
		{
			started.RemoveAll(Gone);
			started.Add(p);
		}
		return p;
	}

	public sealed record Result(int Code, byte[] Out, string Err)
	{
		public string Text => Encoding.UTF8.GetString(Out);
	}

	/// Runs a command to completion, feeding it stdin; kills it and fails
	/// if it outlives the timeout.
	public static Result Run(string cmd, IEnumerable<string> args, byte[]? stdin = null,
		IDictionary<string, string>? env = null, TimeSpan? timeout = null)
	{
		using var p = Start(cmd, args, env);
		var output = new MemoryStream();
		var copyOut = p.StandardOutput.BaseStream.CopyToAsync(output);
		var err = p.StandardError.ReadToEndAsync();
		try
		{
			if (stdin is not null)
				p.StandardInput.BaseStream.Write(stdin);
			p.StandardInput.Close();
		}
		catch (IOException)
		{
			// The command exited without reading all its input.
		}
		if (!p.WaitForExit(timeout ?? Timeout))
		{
			p.Kill(true);
			throw new TimeoutException($"{cmd} {string.Join(' ', args)}: still running after {timeout ?? Timeout}");
		}
		copyOut.Wait(Timeout);
		return new Result(p.ExitCode, output.ToArray(), err.Wait(Timeout) ? err.Result : "");
	}

	public static Result Run(string cmd, params string[] args) => Run(cmd, args, null);

	/// Runs a shell command line (sh -c) with the commands on PATH.
	public static Result Sh(string script, IDictionary<string, string>? env = null, TimeSpan? timeout = null) =>
		Run("/bin/sh", ["-c", script], null, env, timeout);

	/// Waits for a condition, polling, and fails with what when it stays false.
	public static void WaitFor(Func<bool> cond, string what, TimeSpan? timeout = null)
	{
		var end = DateTime.UtcNow + (timeout ?? Timeout);
		while (!cond())
		{
			if (DateTime.UtcNow > end)
				throw new TimeoutException("timed out waiting for " + what);
			Thread.Sleep(10);
		}
	}
}
