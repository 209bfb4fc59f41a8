namespace Pager.Bench;

/// A target of the issue, its measured value and whether it was met.
/// Margin says by how much: the measured value over the limit.
public sealed record Target(string What, string Goal, string Measured, bool? Met, string Margin);

static class Targets
{
	public static List<Target> Check(List<CellResult> cells, List<MemRow> mem, List<StartRow> start)
	{
		var t = new List<Target>();
		CellResult? Rand4k(int threads, bool pinned, long size) =>
			Find(cells, c => c.Pattern == Pattern.Rand && c.Chunk == 4096 && c.Threads == threads && c.Pinned == pinned && c.Size == size);
		var rand1 = Rand4k(1, false, Smallest(cells));
		var pinned = Rand4k(1, true, Smallest(cells));
		var rand8 = Find(cells, c => c.Pattern == Pattern.Rand && c.Chunk == 4096 && c.Threads == 8);
		var sparse = Rand4k(1, false, 16 * Cells.G);
		var seq2m = Find(cells, c => c.Pattern == Pattern.Seq && c.Chunk == 2 * Cells.M && c.Threads == 1);
		var read2m = Find(cells, c => c.Pattern == Pattern.Read && c.Chunk == 2 * Cells.M && c.Threads == 1);
		var fwd = Find(cells, c => c.Pattern == Pattern.Seq && c.Chunk == 64 * Cells.K);
		var rand64k = Find(cells, c => c.Pattern == Pattern.Rand && c.Chunk == 64 * Cells.K);

		t.Add(VsC2(AtMost("built-in source, 4 KiB random, 1 thread: time per fault vs C", rand1, r => r.VsC(Sys.Builtin), 1.0, "x"),
			rand1, r => r.Vs(Sys.Builtin, Sys.C2)));
		t.Add(AtMost("built-in source, 4 KiB random, pinned to one core: time per fault vs C", pinned, r => r.VsC(Sys.Builtin), 1.1, "x"));
		foreach (var s in new[] { Sys.Pipeline, Sys.Direct })
		{
			t.Add(VsC2(AtMost($"{Name(s)}, 4 KiB random, 1 thread: time per fault vs C", rand1, r => r.VsC(s), 1.5, "x"),
				rand1, r => r.Vs(s, Sys.C2)));
			t.Add(AtMost($"{Name(s)}, 4 KiB random, pinned to one core: time per fault vs C", pinned, r => r.VsC(s), 2.3, "x"));
			t.Add(VsC2(AtLeast($"{Name(s)}, 4 KiB random, 8 threads: faults/s vs C", rand8, r => r.RateVsC(s), 0.5, "x"),
				rand8, r => 1 / r.Vs(s, Sys.C2)));
		}
		t.Add(AtLeast("built-in source, seq with 2 MiB read-ahead: GB/s vs C", seq2m, r => r.GBpsVs(Sys.Builtin, Sys.C), 1.5, "x"));
		t.Add(AtLeast("built-in source, read with 2 MiB read-ahead: GB/s vs C", read2m, r => r.GBpsVs(Sys.Builtin, Sys.C), 1.25, "x"));
		t.Add(AtLeast("built-in source, read with 2 MiB read-ahead: GB/s vs read()", read2m, r => r.GBpsVs(Sys.Builtin, Sys.Read), 0.5, "x"));
		foreach (var p in new[] { Pattern.Back, Pattern.Stride8 })
		{
			var scan = fwd is null ? null : Find(cells, c => c.Pattern == p && c.Chunk == 64 * Cells.K);
			foreach (var s in new[] { Sys.Builtin, Sys.Pipeline })
			{
				t.Add(AtMost($"{Name(s)}, {Lower(p)} scan, 64 KiB read-ahead: requests vs forward", scan, r => r.Requests(s) / fwd!.Requests(s), 1.1, "x"));
				t.Add(AtMost($"{Name(s)}, {Lower(p)} scan, 64 KiB read-ahead: time vs forward", scan, r => r.Ms(s) / fwd!.Ms(s), 1.2, "x"));
			}
		}
		foreach (var s in new[] { Sys.Builtin, Sys.Pipeline })
			t.Add(AtMost($"{Name(s)}, random 64 KiB faults: requests vs C", rand64k, r => r.Requests(s) / r.Requests(Sys.C), 1.05, "x"));
		foreach (var c in new[] { seq2m, read2m })
			if (c is not null && c.Has(Sys.Huge))
			{
				t.Add(AtMost($"huge pages, {c.Cell.Name}: faults per 2 MiB", c, r => r.Faults(Sys.Huge) / (r.Cell.Size / (2.0 * Cells.M)), 1, ""));
				var g = c.GBpsVs(Sys.Huge, Sys.Builtin);
				t.Add(new($"huge pages, {c.Cell.Name}: GB/s vs the 4 KiB-page map", "reported", $"{g:0.###}x", null, ""));
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

	static string Lower(Pattern p) => p.ToString().ToLowerInvariant();

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
		Sys.Direct => "pagefill -m",
		Sys.Huge => "built-in source, huge pages",
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
