using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Tmds.Linux;

namespace Pager.Tests;

/// A diod 9P2000.L server for the tests, exporting one directory on a
/// loopback port of its own. It can be stopped (killed) and started
/// again on the same port and directory. It never outlives the test
/// process: Dispose kills it, and so does the process's exit.
public sealed class Diod : IDisposable
{
	public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
	/// The server, and diodcat, a client of its own to check ours against.
	public static readonly string Exe = Find("diod");
	public static readonly string CatExe = Find("diodcat");

	static readonly HashSet<Diod> live = [];

	readonly StringBuilder log = new();
	Process? proc;

	/// The exported directory; it is also the attach name.
	public string Dir { get; }
	public int Port { get; }
	/// The address in Plan 9 form: tcp!127.0.0.1!PORT.
	public string Address => $"tcp!127.0.0.1!{Port}";
	public bool Running => proc is { HasExited: false };

	/// What diod said on stderr, for failure messages.
	public string Log
	{
		get
		{
			lock (log)
				return log.ToString();
		}
	}

	static Diod()
	{
		AppDomain.CurrentDomain.ProcessExit += (_, _) =>
		{
			lock (live)
				foreach (var d in live.ToArray())
					d.Stop();
		};
	}

	Diod(string dir, int port)
	{
		Dir = dir;
		Port = port;
	}

	/// Starts diod exporting dir and waits until it accepts connections.
	public static Diod Start(string dir)
	{
		var d = new Diod(Path.GetFullPath(dir), FreePort());
		d.Start();
		return d;
	}

	/// The source word for a file in the export: 9p:tcp!127.0.0.1!PORT/path.
	public string Source(string path) => $"9p:{Address}/{path}";

	/// Starts diod again, on the same port and directory.
	public void Start()
	{
		if (Running)
			return;
		var end = DateTime.UtcNow + Timeout;
		for (;;)
		{
			Launch();
			if (WaitListening(end))
				return;
			// Exited early; the port may not be free yet after a Stop.
			Reap();
			if (DateTime.UtcNow > end)
				throw new TimeoutException($"diod on port {Port} did not start:\n{Log}");
			Thread.Sleep(100);
		}
	}

	/// Kills diod, as a crash would, and waits for it to be gone.
	public void Stop()
	{
		var p = proc;
		if (p is null)
			return;
		try
		{
			if (!p.HasExited)
				p.Kill(true);
			if (!p.WaitForExit(Timeout))
				throw new TimeoutException($"diod pid {p.Id} still running after kill");
		}
		catch (InvalidOperationException)
		{
			// Already gone.
		}
		Reap();
	}

	public void Restart()
	{
		Stop();
		Start();
	}

	/// Freezes diod (SIGSTOP): connections stay up but nothing is
	/// answered. The signal lands later than kill returns, so wait for
	/// every thread to show it.
	public void Pause()
	{
		Signal(LibC.SIGSTOP);
		Cmd.WaitFor(Stopped, $"diod pid {proc?.Id} to stop", Timeout);
	}

	public void Resume() => Signal(LibC.SIGCONT);

	public void Dispose() => Stop();

	void Signal(int sig)
	{
		if (proc is null || LibC.kill(proc.Id, sig) < 0)
			throw new InvalidOperationException($"cannot signal diod on port {Port}");
	}

	bool Stopped()
	{
		try
		{
			foreach (var t in Directory.GetDirectories($"/proc/{proc?.Id}/task"))
			{
				var stat = File.ReadAllText(Path.Combine(t, "stat"));
				// pid (comm) state ...; comm may hold anything, so look after the last ')'.
				if (stat[(stat.LastIndexOf(')') + 2)..][0] != 'T')
					return false;
			}
			return true;
		}
		catch (IOException)
		{
			// A thread went away while we looked.
			return false;
		}
	}

	void Launch()
	{
		var psi = new ProcessStartInfo(Exe)
		{
			RedirectStandardInput = true,
			RedirectStandardOutput = true,
			RedirectStandardError = true,
			UseShellExecute = false,
		};
		// -n: no authentication; -c /dev/null: ignore the system's diod.conf.
		foreach (var a in new[] { "-f", "-n", "-c", "/dev/null", "-l", $"127.0.0.1:{Port}", "-e", Dir, "-L", "stderr" })
			psi.ArgumentList.Add(a);
		var p = new Process { StartInfo = psi };
		p.OutputDataReceived += (_, e) => Note(e.Data);
		p.ErrorDataReceived += (_, e) => Note(e.Data);
		lock (live)
		{
			if (!p.Start())
				throw new InvalidOperationException("cannot start " + Exe);
			proc = p;
			live.Add(this);
		}
		p.BeginOutputReadLine();
		p.BeginErrorReadLine();
	}

	void Note(string? line)
	{
		if (line is not null)
			lock (log)
				log.AppendLine(line);
	}

	void Reap()
	{
		lock (live)
		{
			proc?.Dispose();
			proc = null;
			live.Remove(this);
		}
	}

	/// Polls the port until it accepts; false if diod exits first.
	bool WaitListening(DateTime end)
	{
		while (DateTime.UtcNow < end)
		{
			if (proc is null || proc.HasExited)
				return false;
			using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
			try
			{
				using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
				s.ConnectAsync(IPAddress.Loopback, Port, cts.Token).AsTask().GetAwaiter().GetResult();
				return true;
			}
			catch (Exception e) when (e is SocketException or OperationCanceledException)
			{
				Thread.Sleep(20);
			}
		}
		Stop();
		throw new TimeoutException($"diod on port {Port} not listening after {Timeout}:\n{Log}");
	}

	/// Where a diod program is installed: sbin on some systems, bin on others.
	static string Find(string name)
	{
		var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':');
		foreach (var d in new[] { "/usr/sbin", "/usr/bin" }.Concat(path))
			if (d.Length > 0 && File.Exists(Path.Combine(d, name)))
				return Path.Combine(d, name);
		return name;
	}

	/// A loopback port nobody is using now.
	static int FreePort()
	{
		var l = new TcpListener(IPAddress.Loopback, 0);
		l.Start();
		int port = ((IPEndPoint)l.LocalEndpoint).Port;
		l.Stop();
		return port;
	}
}
