using System.Diagnostics;
using Pager.Client;
using Pager.NineP;

namespace Pager.Bench;

/// 9P replies from a hostile server (HostileNineP), to the 9P client in
/// this process and to pagefill's: the client may fail only with a
/// NinePException, within its timeout, and never return more than it was
/// asked or a negative size. After each batch the server turns good and
/// a map served by faultcat | pagefill 9p: from it must read byte-exact:
/// pagefill lived through the batch's botched replies and recovered.
sealed class FuzzNineP : FuzzBoundary
{
	const string Map = "n9";
	static readonly TimeSpan timeout = TimeSpan.FromMilliseconds(500);
	readonly FuzzRig rig;
	readonly byte[] file;
	readonly HostileNineP server;
	Process? pagefill;

	public override bool ThroughDaemon => false;

	public FuzzNineP(FuzzRig rig, int seed) : base("9p")
	{
		this.rig = rig;
		file = new byte[FuzzRig.FuzzSize];
		new Random(seed).NextBytes(file);
		server = new HostileNineP(file, seed);
	}

	public override void Case(Random r)
	{
		var opt = new NinePOptions { Timeout = timeout, ReadOnly = r.Next(2) == 0, Msize = r.Next(2) == 0 ? 4096 + 24 : 65536 + 24 };
		var sw = Stopwatch.StartNew();
		string did = "open";
		try
		{
			using var f = RemoteFile.Open(server.Source, "x", opt);
			for (int i = r.Next(1, 5); i > 0; i--)
			{
				sw.Restart();
				switch (r.Next(4))
				{
				case 0:
					var b = new byte[r.Next(1, 70_000)];
					long off = r.NextInt64(file.Length + 8192);
					did = $"read {b.Length} at {off}";
					int n = f.Read(off, b);
					if (n < 0 || n > b.Length)
						rig.Findings.Add(Name, $"a read of {b.Length} bytes gave {n}", did);
					break;
				case 1:
					did = "size";
					if (f.Size is < 0 and var s)
						rig.Findings.Add(Name, $"the size of a file is {s}", did);
					break;
				case 2:
					did = "write";
					f.Write(r.Next(4096), new byte[r.Next(1, 5000)]);
					break;
				default:
					did = "sync";
					f.Sync();
					break;
				}
				Bound(sw, did);
			}
		}
		catch (NinePException)
		{
			Bound(sw, did);
		}
		catch (Exception e)
		{
			rig.Findings.Add(Name, $"{did}: {e.GetType().Name}: {e.Message}", $"{did}, server botching {server.Botched} replies so far");
		}
	}

	/// A call may take its timeout twice (one retry on a fresh
	/// connection) and a little more: beyond that is a hang.
	void Bound(Stopwatch sw, string did)
	{
		if (sw.Elapsed > 2 * timeout + TimeSpan.FromSeconds(2))
			rig.Findings.Add(Name, $"{did} took {sw.Elapsed.TotalSeconds:0.0} s, over twice the timeout", did);
	}

	/// pagefill behind the same server: read the map through the botched
	/// replies (zeros where a request failed: policy=zero), then again
	/// with the server good, which must be the file's bytes.
	public override void EndBatch()
	{
		// The pipeline's requests must not wait out a stall each.
		server.Stalls = false;
		try
		{
			if (pagefill is null)
			{
				rig.Keep.Add(Map);
				rig.Call($"new {Map} {FuzzRig.FuzzSize} timeout=1s policy=zero");
				pagefill = rig.StartPager($"faultcat {Map} | pagefill -A x {server.Source} >{Protocol.Dir.Fill(rig.Root, Map)}", Map);
			}
			Read(false);
			server.Good = true;
			Read(true);
		}
		finally
		{
			server.Good = false;
			server.Stalls = true;
		}
	}

	void Read(bool exact)
	{
		rig.Call($"evict {Map}");
		var got = new byte[file.Length];
		var t = Task.Run(() =>
		{
			using var m = Mapping.Attach(Map, new AttachOptions { Root = rig.Root, ReadOnly = true });
			m.Read(0, got);
		});
		if (!t.Wait(TimeSpan.FromSeconds(60)))
			rig.Findings.Fatal(Name, "reading map n9 through pagefill 9p: did not end in 60 s");
		else if (t.IsFaulted)
			rig.Findings.Add(Name, $"reading map n9: {t.Exception!.InnerException!.Message}", "");
		else if (exact && !got.AsSpan().SequenceEqual(file))
			rig.Findings.Add(Name, $"map n9, read through pagefill 9p: from a good server again, differs at byte {got.AsSpan().CommonPrefixLength(file)}", "");
		if (pagefill is { HasExited: true })
			rig.Findings.Fatal(Name, $"pagefill 9p: exited with status {pagefill.ExitCode}");
	}

	public void Dispose() => server.Dispose();
}
