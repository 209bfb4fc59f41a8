namespace Pager.Bench;

/// The samples of one cell, and the medians the report shows. Ratios to
/// the C handler are taken run by run (each against the C handler's run
/// of the same round) and then their median.
public sealed class CellResult(Cell cell)
{
	public Cell Cell => cell;
	public readonly Dictionary<Sys, List<Sample>> Runs = [];

	public void Add(Sample s)
	{
		if (!Runs.TryGetValue(s.Sys, out var l))
			Runs[s.Sys] = l = [];
		l.Add(s);
	}

	public bool Has(Sys s) => Runs.ContainsKey(s);

	public double Ms(Sys s) => Med(s, x => x.Ns / 1e6);
	public double Faults(Sys s) => Med(s, x => x.Faults);
	public double UsPerFault(Sys s) => Med(s, x => x.Faults > 0 ? x.Ns / 1e3 / x.Faults : double.NaN);
	public double FaultsPerSec(Sys s) => Med(s, x => x.Faults / (x.Ns / 1e9));
	public double GBps(Sys s) => Med(s, x => (double)cell.Bytes / x.Ns);
	public double ServerUs(Sys s) => Med(s, x => x.Faults > 0 ? x.Server.CpuNs / 1e3 / x.Faults : double.NaN);
	public double PagerUs(Sys s, string name) =>
		Med(s, x => x.Faults > 0 && x.Pagers.TryGetValue(name, out var c) ? c.CpuNs / 1e3 / x.Faults : double.NaN);
	public IEnumerable<string> PagerNames(Sys s) => Has(s) ? Runs[s].SelectMany(x => x.Pagers.Keys).Distinct().Order() : [];
	public double PagerUs(Sys s) => Med(s, x => x.Faults > 0 ? x.Pager.CpuNs / 1e3 / x.Faults : double.NaN);
	public double Switches(Sys s) => Med(s, x => x.Faults > 0 ? (double)(x.Server.Switches + x.Pager.Switches) / x.Faults : double.NaN);

	/// The source requests the map made in a run (the file view's paths).
	public double Requests(Sys s) => Med(s, x => x.Requests);

	/// What s took more than other, per fault (for the file view: per FUSE
	/// read), run by run: what FUSE adds to each request over the kernel's
	/// own reading of the page-cached file.
	public double UsOver(Sys s, Sys other) => Ratio(s, other, (a, b) => a.Faults > 0 ? (a.Ns - b.Ns) / 1e3 / a.Faults : double.NaN);

	/// Time of s over the C handler's time, run by run: per-fault time
	/// relative to C's, since both do the same touches.
	public double VsC(Sys s) => Vs(s, Sys.C);

	/// Time of s over that of other, run by run.
	public double Vs(Sys s, Sys other) => Ratio(s, other, (a, c) => (double)a.Ns / c.Ns);

	/// Faults per second of s over C's.
	public double RateVsC(Sys s) => Ratio(s, Sys.C, (a, c) => (a.Faults / (double)a.Ns) / (c.Faults / (double)c.Ns));

	/// GB/s of s over that of other.
	public double GBpsVs(Sys s, Sys other) => Ratio(s, other, (a, b) => (double)b.Ns / a.Ns);

	double Ratio(Sys s, Sys other, Func<Sample, Sample, double> f)
	{
		if (!Has(s) || !Has(other))
			return double.NaN;
		var xs = Runs[s].Join(Runs[other], a => a.Run, b => b.Run, f).ToList();
		return Median(xs);
	}

	/// Whether s read the bytes the C handler (or the first system) read.
	public bool SumOk(Sys s)
	{
		var want = (Has(Sys.C) ? Runs[Sys.C] : Runs.Values.First())[0].Sum;
		return Runs[s].All(x => x.Sum == want);
	}

	double Med(Sys s, Func<Sample, double> f) => Has(s) ? Median(Runs[s].Select(f)) : double.NaN;

	public static double Median(IEnumerable<double> xs)
	{
		var a = xs.Where(x => !double.IsNaN(x)).Order().ToArray();
		if (a.Length == 0)
			return double.NaN;
		return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2;
	}
}
