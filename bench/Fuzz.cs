using System.Diagnostics;

namespace Pager.Bench;

/// bench fuzz: hostile input at every place outside input enters the
/// toolkit, by the hundred thousand, against a real pagerd; see README.md.
/// Batches of cases go to each boundary in turn, and after each batch the
/// rig checks that pagerd is alive and still serves byte-exact.
static class Fuzz
{
	public static int Run(string[] args)
	{
		long want = 100_000;
		int seed = Environment.TickCount, batch = 400;
		string? root = null;
		for (int i = 0; i < args.Length; i++)
			switch (args[i])
			{
			case "-n" when i + 1 < args.Length: want = long.Parse(args[++i]); break;
			case "-s" when i + 1 < args.Length: seed = int.Parse(args[++i]); break;
			case "-b" when i + 1 < args.Length: batch = int.Parse(args[++i]); break;
			case "-d" when i + 1 < args.Length: root = args[++i]; break;
			default:
				Console.Error.WriteLine("usage: bench fuzz [-n CASES] [-s SEED] [-b BATCH] [-d PAGERDIR]");
				return 2;
			}
		var tmp = Directory.CreateTempSubdirectory("pager-fuzz").FullName;
		var findings = new FuzzFindings();
		var sw = Stopwatch.StartNew();
		var r = new Random(seed);
		Console.WriteLine($"fuzz: seed {seed}, {want} cases through the daemon, batches of {batch}");
		FuzzNineP? ninep = null;
		try
		{
			using var rig = new FuzzRig(root, tmp, findings);
			ninep = new FuzzNineP(rig, seed);
			var all = new List<(FuzzBoundary B, int Batch)>
			{
				(new FuzzFill(rig), batch),
				(new FuzzCtl(rig), batch),
				(new FuzzSocket(rig), batch),
				(new FuzzStatus(rig), Math.Max(1, batch / 10)),
				(ninep, Math.Max(1, batch / 4)),
			};
			all.AddRange(FuzzParsers.Kinds.Select(k => ((FuzzBoundary)new FuzzParsers(k, findings), batch * 4)));
			while (!findings.Stop && all.Where(b => b.B.ThroughDaemon).Sum(b => b.B.Cases) < want)
				foreach (var (b, n) in all)
				{
					Batch(b, n, r, findings);
					b.EndBatch();
					if (b.EndToEnd)
						rig.Check(b.Name);
					if (findings.Stop)
						break;
				}
			Report(all.Select(b => b.B), findings, sw.Elapsed);
		}
		catch (BenchException e)
		{
			Console.Error.WriteLine($"bench fuzz: {e.Message}");
			return 1;
		}
		finally
		{
			ninep?.Dispose();
			Directory.Delete(tmp, true);
		}
		return findings.All.Count == 0 ? 0 : 1;
	}

	/// n cases; what a case throws is the harness's failure or a
	/// boundary's, and a finding either way.
	static void Batch(FuzzBoundary b, int n, Random r, FuzzFindings findings)
	{
		for (int i = 0; i < n && !findings.Stop; i++)
		{
			try
			{
				b.Case(r);
			}
			catch (Exception e)
			{
				findings.Add(b.Name, $"case threw {e.GetType().Name}: {e.Message}", e.StackTrace ?? "");
			}
			b.Cases++;
		}
	}

	static void Report(IEnumerable<FuzzBoundary> all, FuzzFindings findings, TimeSpan took)
	{
		Console.WriteLine($"{"boundary",-18} {"cases",9}");
		foreach (var b in all)
			Console.WriteLine($"{b.Name,-18} {b.Cases,9}{(b.ThroughDaemon ? "" : b.EndToEnd ? "  (to a 9P client)" : "  (in this process)")}");
		long e2e = all.Where(b => b.ThroughDaemon).Sum(b => b.Cases), other = all.Where(b => !b.ThroughDaemon).Sum(b => b.Cases);
		Console.WriteLine($"fuzz: {e2e} cases through the daemon and {other} others in {took.TotalSeconds:0} s; {findings.All.Count} findings");
		foreach (var f in findings.All)
			Console.WriteLine($"  {f.Boundary}: {f.What} ({f.Count}×){(f.Input.Length > 0 ? "\n\tinput: " + FuzzFindings.Show(f.Input) : "")}");
	}
}
