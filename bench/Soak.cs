using System.Diagnostics;

namespace Pager.Bench;

/// bench soak: several maps, clients and pagers for a given time, with
/// pagers, clients and pagerd itself killed at random, every byte read
/// and every byte written back checked; see README.md.
sealed class Soak
{
	public readonly string Tmp, ClientScript, Libpager;
	public readonly Dictionary<string, string> Env;
	readonly SoakDaemon d;
	readonly List<SoakMap> maps = [];
	readonly Random r;
	readonly string mapctl;
	long writes, written, catBytes, syncs, lost, faults;
	int pagerKills, clientKills, mapctlKills, pagerdKills;
	readonly List<string> failures = [];

	public static int Run(string[] args)
	{
		var time = TimeSpan.FromMinutes(1);
		int seed = Environment.TickCount, nmaps = 4, clients = 2;
		for (int i = 0; i < args.Length; i++)
			switch (args[i])
			{
			case "-t" when i + 1 < args.Length: time = Protocol.Num.Duration(args[++i], "-t"); break;
			case "-s" when i + 1 < args.Length: seed = int.Parse(args[++i]); break;
			case "-m" when i + 1 < args.Length: nmaps = int.Parse(args[++i]); break;
			case "-c" when i + 1 < args.Length: clients = int.Parse(args[++i]); break;
			default:
				Console.Error.WriteLine("usage: bench soak [-t TIME] [-s SEED] [-m MAPS] [-c CLIENTS]");
				return 2;
			}
		var tmp = Directory.CreateTempSubdirectory("pager-soak").FullName;
		Console.WriteLine($"soak: seed {seed}, {nmaps} maps of 1 MiB, {clients} clients each, for {time}");
		try
		{
			var soak = new Soak(tmp, seed, nmaps, clients);
			return soak.Go(time);
		}
		catch (BenchException e)
		{
			Console.Error.WriteLine($"bench soak: {e.Message}");
			return 1;
		}
		finally
		{
			Directory.Delete(tmp, true);
		}
	}

	Soak(string tmp, int seed, int nmaps, int nclients)
	{
		Tmp = tmp;
		r = new Random(seed);
		var repo = Opts.Repo();
		var bin = Path.Combine(repo, "out", "bin");
		Libpager = Path.Combine(repo, "out", "lib", "libpager.so");
		ClientScript = Path.Combine(repo, "bench", "soak-client.py");
		if (!File.Exists(Path.Combine(bin, "pagerd")) || !File.Exists(Libpager))
			throw new BenchException($"no {bin}/pagerd or {Libpager}: run sh .ci/setup");
		mapctl = Path.Combine(bin, "mapctl");
		var root = Path.Combine(tmp, "ns");
		Env = new()
		{
			["PAGERDIR"] = root,
			["PATH"] = $"{bin}:{Environment.GetEnvironmentVariable("PATH")}",
			// Clients wait this long for the next pagerd before SIGBUS.
			["PAGER_GRACE"] = "120s",
		};
		d = new SoakDaemon(Path.Combine(bin, "pagerd"), root, Path.Combine(tmp, "pagerd.log"));
		for (int i = 0; i < nmaps; i++)
		{
			var m = new SoakMap(this, $"s{i}", 1 << 20, r);
			// Half the maps hold at most a quarter of their pages, so that
			// dirty pages are written back to be evicted, and read again.
			d.Call($"new {m.Name} {m.Model.Length}" + (i % 2 == 1 ? " maxresident=256k" : ""));
			StartPager(m);
			for (int c = 0; c < nclients; c++)
				m.StartClient(r);
			maps.Add(m);
		}
	}

	int Go(TimeSpan time)
	{
		var sw = Stopwatch.StartNew();
		try
		{
			while (sw.Elapsed < time && failures.Count == 0 && maps.All(m => m.Failures.Count == 0))
				Step();
			// Every run ends with a restart, and the last check after it.
			KillPagerd(maps[r.Next(maps.Count)]);
			foreach (var m in maps)
			{
				Verify(m);
				Sync(m);
			}
			Faults();
		}
		finally
		{
			foreach (var m in maps)
			{
				m.Dispose();
				failures.AddRange(m.Failures);
			}
			d.Dispose();
		}
		long clientBytes = maps.Sum(m => m.ClientBytes);
		Console.WriteLine($"soak: {sw.Elapsed:hh\\:mm\\:ss}: {writes} writes ({written} bytes), {syncs} syncs, {faults} faults served");
		Console.WriteLine($"soak: kills survived: {pagerdKills} pagerd, {pagerKills} pagers, {clientKills} clients, {mapctlKills} mapctl writes");
		Console.WriteLine($"soak: bytes verified: {clientBytes + catBytes} ({clientBytes} by clients, {catBytes} by mapctl cat and the files)");
		Console.WriteLine($"soak: bytes lost: {lost}");
		foreach (var f in failures)
			Console.WriteLine($"soak: failure: {f}");
		Console.WriteLine($"soak: {failures.Count} failures");
		return failures.Count == 0 && lost == 0 ? 0 : 1;
	}

	void Step()
	{
		var m = maps[r.Next(maps.Count)];
		int dice = r.Next(100);
		if (dice < 50)
			Write(m);
		else if (dice < 65)
			Verify(m);
		else if (dice < 75)
			Sync(m);
		else if (dice < 83)
		{
			m.KillPager();
			pagerKills++;
			StartPager(m);
		}
		else if (dice < 91)
		{
			m.KillClient(r);
			clientKills++;
			m.StartClient(r);
		}
		else if (dice < 96)
			KilledWrite(m);
		else
			KillPagerd(m);
		foreach (var x in maps)
			x.CheckClients();
	}

	/// The map's pipeline, once pagerd sees it: a sync before then fails
	/// for want of a pager, as it should.
	void StartPager(SoakMap m)
	{
		m.StartPager();
		var end = DateTime.UtcNow.AddMinutes(1);
		while (!d.Call($"stat {m.Name}").Contains("pager yes"))
		{
			if (DateTime.UtcNow > end)
				throw new BenchException($"map {m.Name}: the pipeline did not attach in a minute; pagerd's log is {Tmp}/pagerd.log");
			Thread.Sleep(20);
		}
	}

	/// kill -9 of pagerd, often with a sync of m on its way: the sync
	/// may fail, and the pages it was writing must still be dirty with
	/// the next pagerd, for a later sync to write.
	void KillPagerd(SoakMap m)
	{
		Faults();
		Process? sync = null;
		if (r.Next(2) == 0)
		{
			sync = Proc.Start(mapctl, ["sync", m.Name], Env, redirect: true);
			sync.OutputDataReceived += (_, _) => { };
			sync.ErrorDataReceived += (_, _) => { };
			sync.BeginOutputReadLine();
			sync.BeginErrorReadLine();
			Thread.Sleep(r.Next(30));
		}
		d.Restart();
		pagerdKills++;
		if (sync is null)
			return;
		if (!sync.WaitForExit(TimeSpan.FromMinutes(2)))
		{
			sync.Kill();
			failures.Add($"mapctl sync {m.Name}: still waiting 2 minutes after pagerd was killed under it");
		}
		sync.Dispose();
	}

	/// Random bytes at a random place in the written half.
	(long Off, byte[] Bytes) Change(SoakMap m)
	{
		long off = m.Half + r.NextInt64(m.Half);
		var b = new byte[Math.Min(r.Next(1, 20_000), m.Model.Length - off)];
		r.NextBytes(b);
		return (off, b);
	}

	void Write(SoakMap m)
	{
		var (off, b) = Change(m);
		Mapctl(["write", m.Name, off.ToString()], b);
		b.CopyTo(m.Model, off);
		writes++;
		written += b.Length;
	}

	/// A mapctl write killed at a random moment: it may or may not have
	/// landed, so the same range is then written again, whole, and the
	/// model holds what that second write says.
	void KilledWrite(SoakMap m)
	{
		var (off, b) = Change(m);
		using (var p = Proc.Start(mapctl, ["write", m.Name, off.ToString()], Env, redirect: true, stdin: true))
		{
			var feed = Task.Run(() =>
			{
				try
				{
					p.StandardInput.BaseStream.Write(b);
					p.StandardInput.Close();
				}
				catch (IOException)
				{
				}
			});
			Thread.Sleep(r.Next(30));
			p.Kill();
			p.WaitForExit();
			feed.Wait();
		}
		mapctlKills++;
		r.NextBytes(b);
		Mapctl(["write", m.Name, off.ToString()], b);
		b.CopyTo(m.Model, off);
		writes++;
		written += b.Length;
	}

	/// The whole map through mapctl cat, against the model.
	void Verify(SoakMap m)
	{
		var got = Mapctl(["cat", m.Name], null);
		Compare(m, got, "mapctl cat", counts: false);
	}

	/// sync, then the file against the model: after a sync that said
	/// all is written, every difference is a byte lost. (A sync that
	/// fails is a failure of its own.)
	void Sync(SoakMap m)
	{
		int failed = failures.Count;
		Mapctl(["sync", m.Name], null);
		syncs++;
		if (failures.Count == failed)
			Compare(m, File.ReadAllBytes(m.File), "the file after sync", counts: true);
	}

	void Compare(SoakMap m, byte[] got, string what, bool counts)
	{
		catBytes += got.Length;
		long bad = got.Length == m.Model.Length ? 0 : Math.Abs(got.Length - m.Model.Length);
		long first = -1;
		for (int i = 0; i < Math.Min(got.Length, m.Model.Length); i++)
			if (got[i] != m.Model[i])
			{
				bad++;
				if (first < 0)
					first = i;
			}
		if (bad == 0)
			return;
		if (counts)
			lost += bad;
		failures.Add($"{m.Name}: {what}: {bad} bytes differ from what was written, the first at {first}");
	}

	/// Adds up the faults pagerd served so far, before its counters go.
	void Faults()
	{
		foreach (var m in maps)
			foreach (var l in d.Call($"stat {m.Name}"))
				if (l.StartsWith("faults "))
					faults += long.Parse(l[7..]);
	}

	byte[] Mapctl(string[] args, byte[]? stdin)
	{
		using var p = Proc.Start(mapctl, args, Env, redirect: true, stdin: true);
		var err = p.StandardError.ReadToEndAsync();
		var feed = Task.Run(() =>
		{
			try
			{
				if (stdin is not null)
					p.StandardInput.BaseStream.Write(stdin);
				p.StandardInput.Close();
			}
			catch (IOException)
			{
			}
		});
		var output = new MemoryStream();
		var copy = p.StandardOutput.BaseStream.CopyToAsync(output);
		if (!p.WaitForExit(TimeSpan.FromMinutes(2)))
		{
			p.Kill();
			throw new BenchException($"mapctl {string.Join(' ', args)}: no answer in 2 minutes; pagerd's log is {Tmp}/pagerd.log");
		}
		copy.Wait();
		feed.Wait();
		if (p.ExitCode != 0)
			failures.Add($"mapctl {string.Join(' ', args)}: exit {p.ExitCode}: {err.Result.Trim()}");
		return output.ToArray();
	}
}
