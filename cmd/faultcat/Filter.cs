using Pager.Protocol;

namespace Pager.Faultcat;

/// Which messages faultcat shows: -t verbs and -o range.
sealed class Filter
{
	HashSet<Verb>? verbs;
	bool ranged;
	long lo, hi = long.MaxValue;

	public bool All => verbs is null && !ranged;

	public static Filter Make(string? verbs, string? range)
	{
		var f = new Filter();
		if (verbs is not null)
		{
			f.verbs = [];
			foreach (var v in verbs.Split(',', StringSplitOptions.RemoveEmptyEntries))
				f.verbs.Add(Pager.Protocol.Verbs.TryParse(v, out var verb) ? verb : throw new ArgumentException($"unknown verb '{v}'"));
		}
		if (range is not null)
			(f.ranged, f.lo, f.hi) = (true, Lo(range), Hi(range));
		return f;
	}

	/// Messages without an offset (sync, synced) fall outside any range.
	public bool Pass(Msg m) =>
		(verbs is null || verbs.Contains(m.Verb))
		&& (!ranged || (!Pager.Protocol.Verbs.HasSeq(m.Verb) && m.Off < hi && m.End > lo));

	// lo-hi, lo-, -hi, or off alone: the byte at off.
	static long Lo(string r)
	{
		int dash = r.IndexOf('-');
		return dash == 0 ? 0 : Size(dash < 0 ? r : r[..dash], r);
	}

	static long Hi(string r)
	{
		int dash = r.IndexOf('-');
		if (dash < 0)
			return Size(r, r) + 1;
		long hi = dash == r.Length - 1 ? long.MaxValue : Size(r[(dash + 1)..], r);
		if (hi <= Lo(r))
			throw new ArgumentException($"empty range '{r}'");
		return hi;
	}

	static long Size(string s, string r)
	{
		try
		{
			return Num.Size(s, "range");
		}
		catch (ProtocolException)
		{
			throw new ArgumentException($"bad range '{r}'");
		}
	}
}
