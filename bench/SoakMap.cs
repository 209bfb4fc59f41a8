using System.Diagnostics;

namespace Pager.Bench;

/// One map of the soak, over a file of its own: the bytes it must hold
/// (the model), its pager pipeline and its clients. The first half of
/// the map is never written, and clients check it as they read; the
/// second half takes the soak's writes, and is checked by the soak.
sealed class SoakMap : IDisposable
{
	public readonly string Name, File;
	public readonly byte[] Model;
	public long Half => Model.Length / 2;
	readonly Soak s;
	Process? pager;
	readonly List<(Process P, long[] Checked)> clients = [];
	/// Bytes checked by clients that have ended.
	public long ClientBytes { get; private set; }
	public int ClientFailures { get; private set; }
	public readonly List<string> Failures = [];

	public SoakMap(Soak s, string name, int size, Random r)
	{
		this.s = s;
		Name = name;
		File = Path.Combine(s.Tmp, name + ".img");
		Model = new byte[size];
		r.NextBytes(Model);
		System.IO.File.WriteAllBytes(File, Model);
	}

	/// The standard pipeline, faultcat | pagefill, as a user starts it.
	public void StartPager()
	{
		pager = Proc.Start("/bin/sh", ["-c", $"exec faultcat {Name} | pagefill file:{File} >$PAGERDIR/{Name}/fill"], s.Env);
	}

	public void KillPager()
	{
		if (pager is null)
			return;
		pager.Kill(true);
		pager.WaitForExit();
		pager.Dispose();
		pager = null;
	}

	public void StartClient(Random r)
	{
		var p = Proc.Start("python3", [s.ClientScript, s.Libpager, Name, File, Half.ToString(), r.Next(2).ToString(), r.Next().ToString()], s.Env, redirect: true);
		var got = new long[1];
		p.OutputDataReceived += (_, e) =>
		{
			if (e.Data is null)
				return;
			if (e.Data.StartsWith("ok "))
				Volatile.Write(ref got[0], long.Parse(e.Data[3..]));
			else
				lock (Failures)
					Failures.Add($"client {p.Id} of {Name}: {e.Data}");
		};
		p.ErrorDataReceived += (_, e) =>
		{
			if (e.Data is not null)
				lock (Failures)
					Failures.Add($"client {p.Id} of {Name}: {e.Data}");
		};
		p.BeginOutputReadLine();
		p.BeginErrorReadLine();
		clients.Add((p, got));
	}

	public int Clients => clients.Count;

	/// Kills one client at random; a client found dead already is a
	/// failure (SIGBUS, a wrong byte).
	public void KillClient(Random r)
	{
		if (clients.Count == 0)
			return;
		int i = r.Next(clients.Count);
		End(clients[i]);
		clients.RemoveAt(i);
	}

	void End((Process P, long[] Checked) c)
	{
		if (c.P.HasExited)
		{
			ClientFailures++;
			lock (Failures)
				Failures.Add($"client {c.P.Id} of {Name} ended by itself: exit {c.P.ExitCode}");
		}
		else
			c.P.Kill();
		c.P.WaitForExit();
		ClientBytes += Volatile.Read(ref c.Checked[0]);
		c.P.Dispose();
	}

	/// Clients alive and checking; a dead one is a failure.
	public void CheckClients()
	{
		foreach (var c in clients.Where(c => c.P.HasExited).ToList())
		{
			End(c);
			clients.Remove(c);
		}
	}

	public void Dispose()
	{
		foreach (var c in clients)
			End(c);
		clients.Clear();
		KillPager();
	}
}
