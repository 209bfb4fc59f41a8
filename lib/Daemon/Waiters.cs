namespace Pager.Daemon;

/// The threads blocked on missing pages, indexed by page.
public sealed class Waiters
{
	readonly Dictionary<long, List<Waiter>> byPage = [];

	public int Count { get; private set; }

	public void Add(Waiter w)
	{
		if (!byPage.TryGetValue(w.Page, out var l))
			byPage[w.Page] = l = [];
		l.Add(w);
		Count++;
	}

	/// Some waiter on a page of [a, b), or null.
	public Waiter? First(long a, long b)
	{
		if (byPage.Count == 0)
			return null;
		if (b - a <= byPage.Count)
		{
			for (long p = a; p < b; p++)
				if (byPage.TryGetValue(p, out var l))
					return l[0];
			return null;
		}
		foreach (var p in Pages(a, b))
			return byPage[p][0];
		return null;
	}

	/// Removes and returns the waiters on [a, b).
	public List<Waiter> Take(long a, long b)
	{
		var taken = new List<Waiter>();
		if (b - a <= byPage.Count)
		{
			// The usual case, a fill of a few pages: no walk of the index.
			for (long p = a; p < b; p++)
				if (byPage.Remove(p, out var l))
					taken.AddRange(l);
		}
		else
			foreach (var p in Pages(a, b).ToList())
			{
				taken.AddRange(byPage[p]);
				byPage.Remove(p);
			}
		Count -= taken.Count;
		return taken;
	}

	/// The waiters on [a, b), left in place.
	public IEnumerable<Waiter> In(long a, long b) => Pages(a, b).SelectMany(p => byPage[p]);

	public IEnumerable<Waiter> All => byPage.Values.SelectMany(l => l);

	/// Forgets the waiters of a client that went away.
	public void Remove(Attachment a)
	{
		foreach (var (p, l) in byPage.ToList())
		{
			Count -= l.RemoveAll(w => w.A == a);
			if (l.Count == 0)
				byPage.Remove(p);
		}
	}

	/// The pages of [a, b) that have waiters: by walking the range or the
	/// index, whichever is shorter.
	IEnumerable<long> Pages(long a, long b)
	{
		if (b - a <= byPage.Count)
		{
			for (long p = a; p < b; p++)
				if (byPage.ContainsKey(p))
					yield return p;
		}
		else
			foreach (var p in byPage.Keys.Where(p => p >= a && p < b).ToList())
				yield return p;
	}
}
