namespace Pager.Daemon;

/// The ranges asked of a pager and not yet answered, indexed by page:
/// every page of a request leads to it.
public sealed class Requests
{
	readonly Dictionary<long, Req> byPage = [];
	readonly HashSet<Req> all = [];

	public int Count => all.Count;
	public IReadOnlyCollection<Req> All => all;

	public void Add(Req r)
	{
		all.Add(r);
		for (long p = r.First; p < r.Last; p++)
			byPage[p] = r;
	}

	public void Remove(Req r)
	{
		if (!all.Remove(r))
			return;
		for (long p = r.First; p < r.Last; p++)
			if (byPage.TryGetValue(p, out var x) && x == r)
				byPage.Remove(p);
	}

	/// The requests with a page in [a, b).
	public List<Req> Overlapping(long a, long b)
	{
		if (b - a > all.Count)
			return [.. all.Where(r => r.First < b && r.Last > a)];
		// A page's request is most often the last page's too.
		var found = new List<Req>();
		for (long p = a; p < b; p++)
			if (byPage.TryGetValue(p, out var r) && (found.Count == 0 || found[^1] != r))
				found.Add(r);
		return found.Count > 1 ? [.. found.Distinct()] : found;
	}

	public void Clear()
	{
		all.Clear();
		byPage.Clear();
	}
}
