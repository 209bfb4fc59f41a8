using Pager.Protocol;

namespace Pager.Faultcat;

/// A set of pages kept as sorted, disjoint runs lo..hi, so a request
/// for a gigabyte costs one entry, not a quarter of a million.
sealed class Extents
{
	readonly List<(long Lo, long Hi)> runs = [];

	public long Pages { get; private set; }

	public void Add(long lo, long hi)
	{
		int i = First(lo);
		int j = i;
		// Merge every run that overlaps or touches lo..hi.
		for (; j < runs.Count && runs[j].Lo <= hi; j++)
		{
			lo = Math.Min(lo, runs[j].Lo);
			hi = Math.Max(hi, runs[j].Hi);
			Pages -= runs[j].Hi - runs[j].Lo;
		}
		runs.RemoveRange(i, j - i);
		runs.Insert(i, (lo, hi));
		Pages += hi - lo;
	}

	/// The index of the first run ending at or after lo.
	int First(long lo)
	{
		int a = 0, b = runs.Count;
		while (a < b)
		{
			int m = (a + b) / 2;
			if (runs[m].Hi < lo)
				a = m + 1;
			else
				b = m;
		}
		return a;
	}
}
