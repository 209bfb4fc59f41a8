using System.Diagnostics;
using Pager.Client;
using Pager.Protocol;

namespace Pager.Tests;

/// A pagerd of the test's own, in the foreground, on a fresh namespace.
/// Dispose stops it with SIGTERM (and kills it if it will not go).
public sealed class Pagerd : IDisposable
{
	public string Root { get; }
	public Process Proc { get; private set; }
	readonly System.Text.StringBuilder log = new();

	public Pagerd(string? root = null)
	{
		Root = root ?? Path.Combine(Path.GetTempPath(), $"pager-test-{Guid.NewGuid():N}"[..24]);
		Proc = Launch();
	}

	public Dictionary<string, string> Env => new() { ["PAGERDIR"] = Root };

	/// pagerd's log so far.
	public string Log
	{
		get
		{
			lock (log)
				return log.ToString();
		}
	}

	Process Launch()
	{
		var p = Cmd.Start("pagerd", ["-f", "-d", Root]);
		p.ErrorDataReceived += (_, e) =>
		{
			if (e.Data is not null)
				lock (log)
					log.AppendLine(e.Data);
		};
		p.BeginErrorReadLine();
		p.StandardInput.Close();
		Cmd.WaitFor(() => Serving() || p.HasExited, "pagerd to serve " + Root);
		if (p.HasExited)
			throw new InvalidOperationException($"pagerd exited: {Log}");
		return p;
	}

	bool Serving() => Control.Answers(Root);

	/// Sends a control message over the socket; returns the reply lines.
	public List<string> Ctl(string line)
	{
		using var c = new Control(Root);
		return c.Call(line);
	}

	/// One field of the map's status.
	public string Get(string map, string key) =>
		Status.Parse(Ctl($"stat {map}")).TryGetValue(key, out var v) ? v : throw new KeyNotFoundException($"no {key} in stat {map}");

	/// One counter of the map's status.
	public long Stat(string map, string key) => long.Parse(Get(map, key));

	public Mapping Attach(string map, bool readOnly = false) =>
		Mapping.Attach(map, new AttachOptions { Root = Root, ReadOnly = readOnly });

	public string Fault(string map) => Dir.Fault(Root, map);
	public string Fill(string map) => Dir.Fill(Root, map);

	/// Kills pagerd outright, as a crash would.
	public void Kill()
	{
		Proc.Kill();
		Proc.WaitForExit(10_000);
	}

	/// The pid of the keeper that holds this pagerd's maps (pagerd(8),
	/// "Restarts"), or 0 when none listens.
	public int KeeperPid() => PeerPid(Dir.Keeper(Root));

	/// The pid of whoever listens on the socket path, or 0 when no one.
	public static int PeerPid(string path)
	{
		int fd;
		try
		{
			fd = Kernel.UnixSocket.Connect(path);
		}
		catch (Kernel.SysException)
		{
			return 0;
		}
		try
		{
			return Kernel.UnixSocket.Peer(fd).Pid;
		}
		finally
		{
			Kernel.Posix.Close(fd);
		}
	}

	/// Kills the keeper outright and waits until it is gone.
	public void KillKeeper()
	{
		int pid = KeeperPid();
		if (pid == 0)
			return;
		Kernel.Posix.Kill(pid, Kernel.Posix.SIGKILL);
		Cmd.WaitFor(() => Gone(pid), $"keeper {pid} to die");
	}

	/// Whether process pid has ended (a zombie no one reaps has).
	public static bool Gone(int pid)
	{
		try
		{
			return File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ");
		}
		catch (IOException)
		{
			return true;
		}
	}

	/// Whether a file system is mounted on dir.
	public static bool Mounted(string dir) =>
		File.ReadLines("/proc/self/mountinfo").Any(l => l.Split(' ')[4] == dir);

	public void Restart()
	{
		if (!Proc.HasExited)
			Kill();
		Proc = Launch();
	}

	bool disposed;

	/// Safe to call twice: a test may stop its pagerd before the end.
	public void Dispose()
	{
		if (disposed)
			return;
		disposed = true;
		if (!Proc.HasExited)
		{
			Tmds.Linux.LibC.kill(Proc.Id, 15);
			if (!Proc.WaitForExit(10_000))
				Proc.Kill(true);
		}
		Proc.Dispose();
		// A pagerd killed (not stopped) leaves its keeper waiting for the next.
		KillKeeper();
		// A killed pagerd's file view stays mounted until its fusermount3
		// notices, or for good if that was killed too.
		if (Mounted(Dir.Files(Root)))
			try
			{
				Kernel.Posix.UmountDetach(Dir.Files(Root));
			}
			catch (Kernel.SysException)
			{
				// fusermount3 got there first.
			}
		if (Directory.Exists(Root))
			Directory.Delete(Root, true);
	}
}
