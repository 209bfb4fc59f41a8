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
		var found = new HashSet<Req>();
		if (b - a <= all.Count)
		{
			for (long p = a; p < b; p++)
				if (byPage.TryGetValue(p, out var r))
					found.Add(r);
		}
		else
			found.UnionWith(all.Where(r => r.First < b && r.Last > a));
		return [.. found];
	}

	public void Clear()
	{
		all.Clear();
		byPage.Clear();
	}
}

/// A range asked of the pager and not yet answered, since a Stopwatch
/// timestamp.
public sealed class Req(long off, long len, int tid, long asked)
{
	public long Asked => asked;
	public long Off => off;
	public long Len => len;
	public int Tid => tid;
	public long End => Off + Len;
	public long First => Off / Kernel.Page.Size;
	public long Last => (End + Kernel.Page.Size - 1) / Kernel.Page.Size;
}
