using System.Diagnostics;
using Pager.Client;

namespace Pager.Bench;

/// The benchmark's own pagerd, in the foreground on a fresh namespace.
sealed class Daemon : IDisposable
{
	public readonly string Root;
	readonly Process p;
	readonly Control ctl;
	int maps;

	public Daemon(string bin, string root)
	{
		Root = root;
		p = Proc.Start(bin, ["-f", "-d", root], redirect: true);
		p.ErrorDataReceived += (_, _) => { }; // its log: one line a map
		p.BeginErrorReadLine();
		p.BeginOutputReadLine();
		var end = DateTime.UtcNow.AddSeconds(30);
		for (;;)
		{
			try
			{
				ctl = new Control(root);
				ctl.Call("ls");
				break;
			}
			catch (PagerException) when (DateTime.UtcNow < end && !p.HasExited)
			{
				Thread.Sleep(20);
			}
		}
	}

	public int Pid => p.Id;

	/// Whether pagerd mounted its file view on ROOT/mnt.
	public bool FileView => FuseCounter.Connection(Path.Combine(Root, "mnt")) is not null;

	public List<string> Call(string line) => ctl.Call(line);

	/// A fresh map name, so no run sees another's pages.
	public string NewName() => $"b{++maps}";

	public string Stat(string map, string key)
	{
		foreach (var l in ctl.Call($"stat {map}"))
			if (l.StartsWith(key + " "))
				return l[(key.Length + 1)..];
		throw new BenchException($"no {key} in stat {map}");
	}

	public long Count(string map, string key) => long.Parse(Stat(map, key));

	/// Waits until pagerd has found the map's pager (it looks each 100 ms).
	public void WaitPager(string map, Process pager)
	{
		var end = DateTime.UtcNow.AddSeconds(10);
		while (Stat(map, "pager") != "yes")
		{
			if (pager.HasExited || DateTime.UtcNow > end)
				throw new BenchException($"map {map}: the pager did not attach");
			Thread.Sleep(2);
		}
	}

	/// Pins every thread of pagerd to cpus ("0", "0-1").
	public void Pin(string cpus) => Proc.Run("taskset", ["-a", "-p", "-c", cpus, Pid.ToString()]);

	public void Dispose()
	{
		ctl.Dispose();
		if (!p.HasExited)
		{
			Pager.Kernel.Posix.Kill(p.Id, Pager.Kernel.Posix.SIGTERM);
			if (!p.WaitForExit(10_000))
				p.Kill();
		}
		p.Dispose();
		if (Directory.Exists(Root))
			Directory.Delete(Root, true);
	}
}
