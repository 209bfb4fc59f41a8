using Pager.Bench;

// bench: the toolkit's paths against the kernel and a minimal C
// userfaultfd handler; see README.md.

if (args.Length > 0 && args[0] == "fuzz")
	return Fuzz.Run(args[1..]);
if (args.Length > 0 && args[0] == "soak")
	return Soak.Run(args[1..]);
var o = Opts.Parse(args);
var repo = Opts.Repo();
var benchDir = Path.Combine(repo, "bench");
var tmp = Path.Combine(Path.GetTempPath(), $"pager-bench-{Environment.ProcessId}");
Directory.CreateDirectory(tmp);
try
{
	var load = File.ReadAllText("/proc/loadavg").Trim();
	var cmds = new Commands(repo, tmp, o.Aot);
	var native = new Native(benchDir, tmp);
	var (dense, sparse) = Files(native, tmp, o.Quick);
	var cells = o.Quick ? Cells.Quick(dense, sparse) : Cells.Full(dense, sparse);
	if (o.Only == "view")
		cells = Cells.ViewOnly(cells);
	if (native.LibClient is null)
	{
		Console.Error.WriteLine("bench: no out/lib/libpager.so (sh .ci/setup builds it): no C client over libpager");
		cells = Without(cells, s => s == Sys.Lib);
	}
	using var pool = HugePages(cells);
	if (pool is null)
		cells = Without(cells, s => s == Sys.Huge);
	using var store = cells.Any(c => c.Systems.Contains(Sys.Redis)) ? RedisStore.Start(tmp, dense) : null;
	if (store is null)
		cells = Without(cells, s => s == Sys.Redis);
	var results = new List<CellResult>();
	using (var d = new Daemon(cmds["pagerd"], Path.Combine(tmp, "ns")))
	{
		if (!d.FileView)
		{
			Console.Error.WriteLine("bench: pagerd mounted no file view (no /dev/fuse, or the mount was refused): no file view paths");
			cells = Without(cells, Cells.View.Contains);
		}
		var r = new Runner(native, d, cmds.Bin, store?.Source);
		foreach (var g in cells.GroupBy(c => c.Group == "" ? c.Name : c.Group))
			foreach (var cr in Measure(r, [.. g], o.Runs))
			{
				results.Add(cr);
				Console.Write(Report.CellTable(cr));
				Console.Out.Flush();
			}
	}
	if (o.Only == "view")
	{
		// The file view's rows alone: none of the rest, and no results.md,
		// which is of a whole run.
		Console.Write(Report.ViewTable(results));
		return 0;
	}
	var mem = Memory.Measure(native, cmds["pagerd"], tmp, sparse, o.Quick);
	Console.Write(Report.MemoryTable(mem));
	var bound = Bounded.Measure(native, cmds["pagerd"], tmp, o.Quick);
	Console.Write(Report.BoundTable(bound));
	var start = Startup.Measure(native, repo, cmds, o.Quick ? 5 : 20);
	Console.Write(Report.StartupTable(start));
	var prof = Profile.Measure(native, cmds, tmp, dense, o.Quick ? 512 : 2048);
	Console.Write(Report.ProfileTable(prof));
	var targets = Targets.Check(results, mem, start);
	Console.Write(Report.ViewTable(results));
	Console.Write(Report.TargetTable(targets));
	var outDir = o.Quick ? Path.Combine(benchDir, "obj") : benchDir;
	var why = Path.Combine(benchDir, "why.md");
	File.WriteAllText(Path.Combine(outDir, "results.md"),
		Report.Markdown(o, cmds, load, results, mem, bound, start, prof, targets, File.Exists(why) ? File.ReadAllText(why) : ""));
	File.WriteAllText(Path.Combine(outDir, "results.svg"), Chart.Svg(results));
	Console.WriteLine($"bench: wrote {outDir}/results.md and results.svg");
	return 0;
}
catch (BenchException e)
{
	Console.Error.WriteLine($"bench: {e.Message}");
	return 1;
}
finally
{
	Directory.Delete(tmp, true);
}

// The huge pages the huge-page cells' maps need, or null (and why) if
// the pool cannot be grown by as many.
static Pager.Tests.HugePool? HugePages(List<Cell> cells)
{
	var huge = cells.Where(c => c.Systems.Contains(Sys.Huge)).ToList();
	if (huge.Count == 0)
		return null;
	int pages = (int)(huge.Max(c => c.Size) / (2 * Cells.M)) + 4;
	try
	{
		if (Pager.Tests.HugePool.Unavailable is { } why)
			throw new InvalidOperationException(why);
		return Pager.Tests.HugePool.Of(pages);
	}
	catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
	{
		Console.Error.WriteLine($"bench: no huge-page cells: {e.Message}");
		return null;
	}
}

static List<Cell> Without(List<Cell> cells, Func<Sys, bool> gone) =>
	[.. cells.Select(c => c with { Systems = [.. c.Systems.Where(s => !gone(s))] })];

// The data: a dense pattern file (64 MiB quick, 1 GiB full) and a 16 GiB
// sparse one with a page of pattern every megabyte.
static (string, string) Files(Native n, string tmp, bool quick)
{
	var dense = Path.Combine(tmp, "dense");
	var sparse = Path.Combine(tmp, "sparse");
	n.Run(["mkfile", dense, (quick ? 64 * Cells.M : Cells.G).ToString()]);
	n.Run(["mkfile", sparse, (16 * Cells.G).ToString(), Cells.M.ToString()]);
	return (dense, sparse);
}

// Runs every system of the cells, runs times, alternating: each round
// starts with the next system, so no system always goes first. Round -1
// warms up (first runs here are often slow) and is not counted.
static List<CellResult> Measure(Runner r, List<Cell> cells, int runs)
{
	foreach (var c in cells)
		r.Prepare(c);
	var res = cells.Select(c => new CellResult(c)).ToList();
	for (int run = -1; run < runs; run++)
		foreach (var cr in res)
		{
			var sys = cr.Cell.Systems;
			for (int i = 0; i < sys.Length; i++)
			{
				var x = r.Run(sys[(run + 1 + i) % sys.Length], cr.Cell, run);
				if (run >= 0)
					cr.Add(x);
			}
		}
	return res;
}

/// Only: "view" runs the file view's cells alone (Cells.ViewOnly).
sealed record Opts(bool Quick, int Runs, bool Aot, string? Only)
{
	public static Opts Parse(string[] args)
	{
		bool quick = false, aot = true;
		int runs = 5;
		string? only = null;
		for (int i = 0; i < args.Length; i++)
			switch (args[i])
			{
			case "--quick": quick = true; runs = 1; break;
			case "--apphost": aot = false; break;
			case "--runs" when i + 1 < args.Length && int.TryParse(args[i + 1], out runs): i++; break;
			case "--only" when i + 1 < args.Length && args[i + 1] == "view": only = args[++i]; break;
			default:
				Console.Error.WriteLine("usage: bench [--quick] [--runs N] [--apphost] [--only view]");
				Environment.Exit(2);
				break;
			}
		return new Opts(quick, runs, aot, only);
	}

	/// The checkout: the directory holding Tools.sln, above us or here.
	public static string Repo()
	{
		foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
			for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
				if (File.Exists(Path.Combine(d.FullName, "Tools.sln")))
					return d.FullName;
		throw new BenchException("cannot find Tools.sln");
	}
}
