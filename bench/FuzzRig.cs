using System.Diagnostics;
using Pager.Client;
using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Bench;

/// What the fuzzer runs against: a pagerd (its own, or one already
/// serving a namespace), the maps the boundaries aim at, and two maps
/// no hostile input names, read back after every batch to show that the
/// daemon still serves byte-exact: chk from pagerd's own file source,
/// chkp through the standard pipeline, faultcat | pagefill file:.
sealed class FuzzRig : IDisposable
{
	public const long FuzzSize = 256 << 10, CheckSize = 1 << 20;
	/// The maps hostile input may name; the rig remakes them when removed.
	public const string Fz = "fz", Fa = "fa";
	static readonly string[] checkMaps = ["chk", "chkp"];
	/// Maps a boundary made for itself, which the rig leaves alone.
	public readonly HashSet<string> Keep = [];

	public readonly string Root, Tmp;
	public readonly FuzzFindings Findings;
	/// Files: fz's source, fa's, and the check maps'.
	public readonly string FzFile, FaFile, ChkFile;
	readonly Process? own;
	readonly List<string> log = [];
	readonly List<Process> pagers = [];
	readonly string bin;
	int pagerdPid, baseFds;

	public FuzzRig(string? root, string tmp, FuzzFindings findings)
	{
		Tmp = tmp;
		Findings = findings;
		bin = BinDir();
		FzFile = RandomFile("fz.img", FuzzSize, 1);
		FaFile = RandomFile("fa.img", FuzzSize, 2);
		ChkFile = RandomFile("chk.img", CheckSize, 3);
		if (root is null)
		{
			Root = Path.Combine(tmp, "ns");
			own = Proc.Start(Path.Combine(bin, "pagerd"), ["-f", "-d", Root], redirect: true);
			own.ErrorDataReceived += (_, e) =>
			{
				if (e.Data is not null)
					lock (log)
						log.Add(e.Data);
			};
			own.BeginErrorReadLine();
			own.BeginOutputReadLine();
		}
		else
			Root = root;
		WaitServing();
		pagerdPid = PeerPid();
		Call($"new chk {CheckSize} source=file:{ChkFile}");
		Call($"new chkp {CheckSize}");
		StartPager($"faultcat chkp | pagefill file:{ChkFile} >{Dir.Fill(Root, "chkp")}", "chkp");
		Ensure();
		Check("setup");
		baseFds = Fds();
	}

	/// The directory of the four commands, as built next to this one.
	static string BinDir()
	{
		var config = AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug";
		var dir = Path.Combine(Path.GetTempPath(), $"pager-fuzz-bin-{Environment.ProcessId}");
		Directory.CreateDirectory(dir);
		foreach (var c in new[] { "pagerd", "mapctl", "faultcat", "pagefill" })
		{
			var link = Path.Combine(dir, c);
			var exe = Path.Combine(Opts.Repo(), "cmd", c, "bin", config, "net10.0", c);
			if (!File.Exists(exe))
				throw new BenchException($"no {exe}: build the commands first (dotnet build Tools.sln -c {config})");
			if (!File.Exists(link))
				File.CreateSymbolicLink(link, exe);
		}
		return dir;
	}

	public Dictionary<string, string> Env => new()
	{
		["PAGERDIR"] = Root,
		["PATH"] = $"{bin}:{Environment.GetEnvironmentVariable("PATH")}",
	};

	public string RandomFile(string name, long size, int seed)
	{
		var b = new byte[size];
		new Random(seed).NextBytes(b);
		var path = Path.Combine(Tmp, name);
		File.WriteAllBytes(path, b);
		return path;
	}

	/// A pipeline serving map, in the background until the rig ends.
	public Process StartPager(string sh, string map)
	{
		var p = Proc.Start("/bin/sh", ["-c", sh], Env, redirect: true);
		p.ErrorDataReceived += (_, e) =>
		{
			if (e.Data is not null)
				lock (log)
					log.Add($"pager of {map}: {e.Data}");
		};
		p.BeginErrorReadLine();
		p.BeginOutputReadLine();
		pagers.Add(p);
		var end = DateTime.UtcNow.AddSeconds(20);
		while (Stat(map, "pager") != "yes")
		{
			if (p.HasExited || DateTime.UtcNow > end)
				throw new BenchException($"map {map}: the pager did not attach");
			Thread.Sleep(10);
		}
		return p;
	}

	public List<string> Call(string line)
	{
		using var c = new Control(Root);
		return c.Call(line);
	}

	public string Stat(string map, string key) =>
		Status.Parse(Call($"stat {map}")).GetValueOrDefault(key) ?? "";

	void WaitServing()
	{
		var end = DateTime.UtcNow.AddSeconds(30);
		for (;;)
		{
			try
			{
				Call("ls");
				return;
			}
			catch (PagerException) when (DateTime.UtcNow < end && own is not { HasExited: true })
			{
				Thread.Sleep(20);
			}
		}
	}

	/// pagerd's process id, from the socket (SO_PEERCRED works both ways).
	int PeerPid()
	{
		int fd = UnixSocket.Connect(Dir.Socket(Root));
		try
		{
			return UnixSocket.Peer(fd).Pid;
		}
		finally
		{
			Posix.Close(fd);
		}
	}

	int Fds() => Directory.GetFiles($"/proc/{pagerdPid}/fd").Length;

	/// Puts the fuzzed maps back as the boundaries expect them, and
	/// removes what hostile control lines made.
	public void Ensure()
	{
		var have = Call("ls").Select(l => l.Split(' ')[0]).ToHashSet();
		foreach (var m in have.Except([.. checkMaps, .. Keep, Fz, Fa]))
			Call($"rm {m} force");
		if (!have.Contains(Fz))
			Call($"new {Fz} {FuzzSize} source=file:{FzFile}");
		// fa is attached and touched by the socket boundary: zeros rather
		// than SIGBUS if anything goes wrong, and never a wait for ever.
		if (!have.Contains(Fa))
			Call($"new {Fa} {FuzzSize} source=file:{FaFile} policy=zero timeout=2s");
	}

	/// After a batch: pagerd is alive, holds no more descriptors than it
	/// did, said nothing of an internal error, and both check maps read
	/// byte-exact. What is wrong is a finding of the batch's boundary.
	public void Check(string boundary)
	{
		if (own is { HasExited: true })
		{
			Findings.Fatal(boundary, $"pagerd exited with status {own.ExitCode}: {Tail()}");
			return;
		}
		try
		{
			Ensure();
			foreach (var m in new[] { Fz, Fa })
				foreach (var e in Call($"err {m}").Where(e => e.Contains("internal error")))
					Findings.Add(boundary, $"map {m}: {e}", "");
			Call($"rm {Fz} force");
			Ensure();
			int fds = Fds();
			if (baseFds > 0 && fds > baseFds + 16)
				Findings.Add(boundary, $"pagerd holds {fds} descriptors, {baseFds} after setup", "");
			foreach (var m in checkMaps)
				ReadBack(boundary, m);
		}
		catch (Exception e) when (e is PagerException or SysException or IOException)
		{
			Findings.Add(boundary, $"check after the batch: {e.Message}", "");
		}
		lock (log)
		{
			foreach (var l in log.Where(l => l.Contains("internal error")))
				Findings.Add(boundary, "pagerd log: " + l, "");
			log.Clear();
		}
		foreach (var p in pagers.Where(p => p.HasExited))
			Findings.Fatal(boundary, $"a check pager exited with status {p.ExitCode}");
	}

	/// Reads map through a real client after dropping its pages, so every
	/// page comes again through the fault path; bounded, so a hang shows.
	void ReadBack(string boundary, string map)
	{
		Call($"evict {map}");
		var want = File.ReadAllBytes(ChkFile);
		var got = new byte[CheckSize];
		var t = Task.Run(() =>
		{
			using var m = Mapping.Attach(map, new AttachOptions { Root = Root, ReadOnly = true });
			m.Read(0, got);
		});
		if (!t.Wait(TimeSpan.FromSeconds(30)))
			Findings.Fatal(boundary, $"reading map {map} back did not end in 30 s");
		else if (!want.AsSpan().SequenceEqual(got))
			Findings.Add(boundary, $"map {map} read back differs from its source at byte {want.AsSpan().CommonPrefixLength(got)}", "");
	}

	string Tail()
	{
		lock (log)
			return string.Join(" | ", log.TakeLast(5));
	}

	public void Dispose()
	{
		foreach (var p in pagers)
		{
			if (!p.HasExited)
				p.Kill(true);
			p.WaitForExit(10_000);
			p.Dispose();
		}
		if (own is not null)
		{
			if (!own.HasExited)
			{
				Posix.Kill(own.Id, Posix.SIGTERM);
				if (!own.WaitForExit(10_000))
					own.Kill();
			}
			own.Dispose();
		}
		Directory.Delete(bin, true);
	}
}
