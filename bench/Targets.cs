namespace Pager.Bench;

/// A target of the issue, its measured value and whether it was met.
/// Margin says by how much: the measured value over the limit.
public sealed record Target(string What, string Goal, string Measured, bool? Met, string Margin);

static class Targets
{
	public static List<Target> Check(List<CellResult> cells, List<MemRow> mem, List<StartRow> start)
	{
		var t = new List<Target>();
		var rand1 = Find(cells, c => c.Pattern == Pattern.Rand && c.Threads == 1 && !c.Pinned && c.Size == Smallest(cells));
		var rand8 = Find(cells, c => c.Pattern == Pattern.Rand && c.Threads == 8 && !c.Pinned);
		var sparse = Find(cells, c => c.Pattern == Pattern.Rand && c.Threads == 1 && !c.Pinned && c.Size == 16 * Cells.G);
		var read2m = Find(cells, c => c.Pattern == Pattern.Read && c.Chunk == 2 * Cells.M && c.Threads == 1);

		t.Add(VsC2(AtMost("built-in source, 4 KiB random, 1 thread: time per fault vs C", rand1, r => r.VsC(Sys.Builtin), 1.25, "x"),
			rand1, r => r.Vs(Sys.Builtin, Sys.C2)));
		t.Add(VsC2(AtMost("standard pipeline, 4 KiB random, 1 thread: time per fault vs C", rand1, r => r.VsC(Sys.Pipeline), 3, "x"),
			rand1, r => r.Vs(Sys.Pipeline, Sys.C2)));
		t.Add(VsC2(AtLeast("standard pipeline, 4 KiB random, 8 threads: faults/s vs C", rand8, r => r.RateVsC(Sys.Pipeline), 0.5, "x"),
			rand8, r => 1 / r.Vs(Sys.Pipeline, Sys.C2)));
		foreach (var s in new[] { Sys.Builtin, Sys.Pipeline })
		{
			t.Add(AtLeast($"{Name(s)}, read with 2 MiB read-ahead: GB/s vs C (2 MiB copies)", read2m, r => r.GBpsVs(s, Sys.C), 0.8, "x"));
			t.Add(AtLeast($"{Name(s)}, read with 2 MiB read-ahead: GB/s vs read()", read2m, r => r.GBpsVs(s, Sys.Read), 0.5, "x"));
		}
		// Run by run, the cells measured in the same rounds; the C
		// handler's own ratio says what the kernel adds for a sparse map.
		string own = sparse is null || rand1 is null ? "" : $"; C handler's own: {SizeRatio(sparse, rand1, Sys.C):0.00}x";
		foreach (var s in new[] { Sys.Builtin, Sys.Pipeline })
		{
			var x = AtMost($"{Name(s)}: time per fault, 16 GiB sparse vs {Units.Size(Smallest(cells))}", sparse,
				r => SizeRatio(r, rand1!, s), 1.2, "x");
			t.Add(x with { Margin = x.Margin + own });
		}
		var big = mem.Where(m => m.Size == 64 * Cells.G).MaxBy(m => m.Touched);
		t.Add(big is null ? new("pagerd's own memory, 64 GiB map", "< 64 MiB", "not measured", null, "")
			: Compare("pagerd's own memory, 64 GiB map (RSS - RssShmem)", big.OwnKb / 1024.0, 64, false, " MiB", "< 64 MiB"));
		foreach (var g in start.Where(s => s.Kind != "apphost" || !start.Any(x => x.Kind == "NativeAOT")))
			t.Add(Compare($"{g.Cmd} -h: start and exit ({g.Kind})", g.Ms, 10, false, " ms", "< 10 ms"));
		return t;
	}

	public static string Name(Sys s) => s switch
	{
		Sys.Mmap => "kernel mmap",
		Sys.Read => "read()",
		Sys.C => "C handler",
		Sys.C2 => "C handler, own process",
		Sys.Builtin => "built-in source",
		Sys.Pipeline => "standard pipeline",
		Sys.Awk => "awk pager",
		Sys.Lib => "built-in source, C client over libpager",
		Sys.Redis => "standard pipeline from redis:",
		Sys.ViewRead => "file view read()",
		Sys.ViewMmap => "file view mmap",
		Sys.WarmRead => "file view read(), map full",
		Sys.WarmMmap => "file view mmap, map full",
		_ => s.ToString(),
	};

	/// Adds the same ratio against the C handler in its own process.
	static Target VsC2(Target t, CellResult? c, Func<CellResult, double> f) =>
		c is null || !c.Has(Sys.C2) ? t : t with { Margin = t.Margin + $"; against the C handler in its own process: {f(c):0.00}x" };

	static double SizeRatio(CellResult big, CellResult small, Sys s) =>
		big.Has(s) && small.Has(s)
			? CellResult.Median(big.Runs[s].Join(small.Runs[s], a => a.Run, b => b.Run,
				(a, b) => (double)a.Ns / a.Faults / ((double)b.Ns / b.Faults)))
			: double.NaN;

	static long Smallest(List<CellResult> cells) => cells.Min(c => c.Cell.Size);

	static CellResult? Find(List<CellResult> cells, Func<Cell, bool> f) => cells.FirstOrDefault(c => f(c.Cell));

	static Target AtMost(string what, CellResult? c, Func<CellResult, double> f, double limit, string unit) =>
		c is null ? new(what, $"<= {limit}{unit}", "not measured", null, "") : Compare(what, f(c), limit, false, unit, $"<= {limit}{unit}");

	static Target AtLeast(string what, CellResult? c, Func<CellResult, double> f, double limit, string unit) =>
		c is null ? new(what, $">= {limit}{unit}", "not measured", null, "") : Compare(what, f(c), limit, true, unit, $">= {limit}{unit}");

	static Target Compare(string what, double v, double limit, bool atLeast, string unit, string goal)
	{
		if (double.IsNaN(v))
			return new(what, goal, "not measured", null, "");
		bool met = atLeast ? v >= limit : v <= limit;
		return new(what, goal, $"{v:0.###}{unit}", met, $"{v / limit:0.00} of the limit");
	}
}
