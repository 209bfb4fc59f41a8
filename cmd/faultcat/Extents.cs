namespace Pager.Faultcat;

/// A set of pages kept as runs lo..hi. Runs are appended as they come and
/// sorted and merged only when the list has doubled since the last merge,
/// so a request costs amortised O(log n) whatever the order of the
/// requests, and a request for a gigabyte costs one entry, not a quarter
/// of a million.
sealed class Extents
{
	readonly List<(long Lo, long Hi)> runs = [];
	int merged;   // runs[..merged] are sorted and disjoint

	public void Add(long lo, long hi)
	{
		runs.Add((lo, hi));
		if (runs.Count > 2 * merged + 1024)
			Merge();
	}

	public long Pages
	{
		get
		{
			Merge();
			long n = 0;
			foreach (var (lo, hi) in runs)
				n += hi - lo;
			return n;
		}
	}

	/// Sorts the runs and joins every two that overlap or touch.
	void Merge()
	{
		runs.Sort();
		int k = 0;
		for (int i = 0; i < runs.Count; i++)
		{
			var r = runs[i];
			if (k > 0 && r.Lo <= runs[k - 1].Hi)
				runs[k - 1] = (runs[k - 1].Lo, Math.Max(runs[k - 1].Hi, r.Hi));
			else
				runs[k++] = r;
		}
		runs.RemoveRange(k, runs.Count - k);
		merged = k;
	}
}
