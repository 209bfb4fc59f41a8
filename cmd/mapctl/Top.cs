using System.Diagnostics;
using System.Globalization;
using System.Text;
using Pager.Client;
using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Cmd;

/// mapctl top: every map, a line each, once a second, as vmstat(8)
/// prints; rates are over the second just gone, from two snapshots of
/// the same status that stat prints.
sealed class Top(Control c)
{
	public static readonly string[] Columns =
		["map", "faults/s", "fills/s", "MB/s", "dirty", "resident/max", "waiting", "outst", "p99", "errors", "pager"];
	const int HeaderEvery = 20;
	static readonly string[] FaultKinds = ["pager", "source", "present", "error"];

	int sinceHeader = HeaderEvery;
	string shown = "";

	sealed record Snap(Dictionary<string, string> St, Histogram Faults);

	/// samples lines of every map (0: for ever), a second apart.
	public void Run(int samples)
	{
		var prev = Take();
		long t = Stopwatch.GetTimestamp();
		for (int n = 0; samples == 0 || n < samples; n++)
		{
			var next = t + Stopwatch.Frequency;
			var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
			if (wait > TimeSpan.Zero)
				Thread.Sleep(wait);
			var cur = Take();
			long now = Stopwatch.GetTimestamp();
			Posix.WriteAll(1, Encoding.UTF8.GetBytes(Sample(prev, cur, (now - t) / (double)Stopwatch.Frequency)), "standard output");
			(prev, t) = (cur, now);
		}
	}

	/// Every map's status now; a map removed meanwhile is left out.
	SortedDictionary<string, Snap> Take()
	{
		var maps = new SortedDictionary<string, Snap>(StringComparer.Ordinal);
		foreach (var l in c.Call("ls"))
		{
			var name = l.Split(' ')[0];
			var st = Stat(name);
			if (st is null)
				continue;
			maps[name] = new Snap(st, Histogram.Sum(FaultKinds.Select(k => Histogram.Parse(Need(st, "latency.fault." + k), name + " latency.fault." + k))));
		}
		return maps;
	}

	/// The status of a map, or null if it was removed since ls.
	Dictionary<string, string>? Stat(string name)
	{
		try
		{
			return Status.Parse(c.Call("stat " + name));
		}
		catch (PagerException)
		{
			if (c.Call("ls").Any(l => l.Split(' ')[0] == name))
				throw;
			return null;
		}
	}

	/// One line a map, under a header when the maps changed or a screenful has gone by.
	string Sample(SortedDictionary<string, Snap> prev, SortedDictionary<string, Snap> cur, double dt)
	{
		var b = new StringBuilder();
		int width = cur.Keys.Select(k => k.Length).Append(8).Max();
		var names = string.Join(' ', cur.Keys);
		if (names != shown || sinceHeader + cur.Count > HeaderEvery)
		{
			b.Append(Row(Columns, width));
			(shown, sinceHeader) = (names, 0);
		}
		foreach (var (name, s) in cur)
		{
			b.Append(Row(Line(name, prev.GetValueOrDefault(name), s, dt), width));
			sinceHeader++;
		}
		return b.ToString();
	}

	/// The columns of one map: rates since the last snapshot (a map new
	/// since then counts from zero), the rest as status has them now.
	static string[] Line(string name, Snap? before, Snap now, double dt)
	{
		var st = now.St;
		long Delta(string k) => Num(st, k) - (before is null ? 0 : Num(before.St, k));
		string Rate(string k) => (Delta(k) / dt).ToString("0", CultureInfo.InvariantCulture);
		var faults = before is null ? now.Faults : now.Faults.Minus(before.Faults);
		long max = Protocol.Num.Size(Need(st, "maxresident"), name + " maxresident");
		return
		[
			name,
			Rate("faults"),
			Rate("fills"),
			(Delta("filled") / dt / (1 << 20)).ToString("0.0", CultureInfo.InvariantCulture),
			Size(Num(st, "dirty") * Page.Size),
			Size(Num(st, "resident") * Page.Size) + "/" + (max == 0 ? "-" : Size(max)),
			Need(st, "waiting"),
			Need(st, "outstanding"),
			faults.Count == 0 ? "-" : Time(faults.Quantile(0.99)),
			Need(st, "errors"),
			Need(st, "pager"),
		];
	}

	static string Row(string[] cols, int width) =>
		cols[0].PadRight(width) + string.Concat(cols.Skip(1).Select((c, i) => " " + c.PadLeft(i == 4 ? 13 : 8))) + "\n";

	static string Need(Dictionary<string, string> st, string key) =>
		st.TryGetValue(key, out var v) ? v : throw new ProtocolException($"status of map {st.GetValueOrDefault("name")} has no {key}");

	static long Num(Dictionary<string, string> st, string key) => Protocol.Num.Parse(Need(st, key), key);

	/// Bytes in the largest unit of 1024 they reach: whole when exact, as
	/// Num.SizeString writes it, else to a tenth.
	public static string Size(long v)
	{
		string[] suffix = ["", "k", "m", "g", "t"];
		int i = 0;
		while (i < 4 && v >= 1L << (10 * (i + 1)))
			i++;
		long unit = 1L << (10 * i);
		return v % unit == 0
			? $"{v / unit}{suffix[i]}"
			: (v / (double)unit).ToString("0.0", CultureInfo.InvariantCulture) + suffix[i];
	}

	/// Microseconds as us, ms or s.
	public static string Time(long us) =>
		us < 1000 ? $"{us}us"
		: us < 1_000_000 ? (us / 1e3).ToString("0.#", CultureInfo.InvariantCulture) + "ms"
		: (us / 1e6).ToString("0.#", CultureInfo.InvariantCulture) + "s";
}
