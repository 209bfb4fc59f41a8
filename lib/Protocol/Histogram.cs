using System.Diagnostics;
using System.Numerics;

namespace Pager.Protocol;

/// Latencies counted in fixed log-scale buckets of microseconds: bucket 0
/// holds [0, 1µs), bucket i holds [2^(i-1), 2^i) µs, the last everything
/// longer. Adding one is a few integer operations and no allocation, so
/// the fault path can afford it. In a map's status it is one value,
///	n=N p50=µs p90=µs p99=µs max=µs buckets=c0,c1,...
/// (trailing empty buckets left out); Parse reads it back, for mapctl.
public sealed class Histogram
{
	public const int Buckets = 32;
	readonly long[] counts = new long[Buckets];

	public long Count { get; private set; }
	/// The longest seen, in microseconds; -1 when not known (Minus).
	public long Max { get; private set; }

	static readonly long ticksPerUs = Math.Max(1, Stopwatch.Frequency / 1_000_000);

	/// Counts the time from since (a Stopwatch timestamp) to now.
	public void Since(long since, long now) => Add((now - since) / ticksPerUs);

	public void Add(long us)
	{
		if (us < 0)
			us = 0;
		int b = us == 0 ? 0 : Math.Min(Buckets - 1, BitOperations.Log2((ulong)us) + 1);
		counts[b]++;
		Count++;
		if (us > Max)
			Max = us;
	}

	public long this[int bucket] => counts[bucket];

	/// The upper bound of bucket b, in microseconds.
	public static long Upper(int b) => b >= Buckets - 1 ? long.MaxValue : 1L << b;

	/// The latency under which a fraction q of the counts lie: the upper
	/// bound of the bucket holding that rank, but never more than Max
	/// when it is known; 0 when empty.
	public long Quantile(double q)
	{
		if (Count == 0)
			return 0;
		long rank = Math.Max(1, (long)Math.Ceiling(q * Count)), seen = 0;
		for (int b = 0; b < Buckets; b++)
			if ((seen += counts[b]) >= rank)
				return Max >= 0 ? Math.Min(Upper(b), Max) : Upper(b);
		return Max;
	}

	/// What was counted since an earlier state of the same histogram; its
	/// Max is not known.
	public Histogram Minus(Histogram before)
	{
		var h = new Histogram { Max = -1 };
		for (int b = 0; b < Buckets; b++)
			h.counts[b] = Math.Max(0, counts[b] - before.counts[b]);
		h.Count = h.counts.Sum();
		return h;
	}

	/// Several histograms as one.
	public static Histogram Sum(IEnumerable<Histogram> hs)
	{
		var h = new Histogram { Max = -1 };
		foreach (var x in hs)
		{
			for (int b = 0; b < Buckets; b++)
				h.counts[b] += x.counts[b];
			h.Count += x.Count;
			h.Max = Math.Max(h.Max, x.Max);
		}
		return h;
	}

	public override string ToString()
	{
		int last = Buckets;
		while (last > 0 && counts[last - 1] == 0)
			last--;
		return $"n={Count} p50={Quantile(0.5)} p90={Quantile(0.9)} p99={Quantile(0.99)} max={Max} buckets={string.Join(',', counts.Take(last))}";
	}

	/// A status value as ToString writes it; the counts come from the
	/// buckets, and must add up to n.
	public static Histogram Parse(string value, string what)
	{
		var kv = KeyValues.Parse(value.Split(' ', StringSplitOptions.RemoveEmptyEntries), what);
		var h = new Histogram { Max = Num.Parse(kv.Need("max", what), what + " max") };
		var list = kv.Need("buckets", what);
		var cs = list.Length == 0 ? [] : list.Split(',');
		if (cs.Length > Buckets)
			throw new ProtocolException($"{what}: {cs.Length} buckets, at most {Buckets}");
		for (int b = 0; b < cs.Length; b++)
		{
			h.counts[b] = Num.Parse(cs[b], what + " bucket");
			// Each count fits a long, their sum need not.
			if (h.counts[b] > long.MaxValue - h.Count)
				throw new ProtocolException($"{what}: buckets add up to more than a count can hold");
			h.Count += h.counts[b];
		}
		if (h.Count != Num.Parse(kv.Need("n", what), what + " n"))
			throw new ProtocolException($"{what}: buckets add up to {h.Count}, not n={kv.Need("n", what)}");
		return h;
	}
}
