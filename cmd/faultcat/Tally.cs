using Pager.Protocol;

namespace Pager.Faultcat;

/// faultcat -s: what went by. Printed at the end of input or on SIGINT,
/// from the signal's thread, hence the lock.
sealed class Tally
{
	readonly Lock l = new();
	readonly long[] verbs = new long[Enum.GetValues<Verb>().Length];
	readonly Dictionary<string, Extents> pages = [];
	long msgs, bytes, malformed, first = -1, last = -1;

	public void Add(Msg m)
	{
		lock (l)
		{
			msgs++;
			verbs[(int)m.Verb]++;
			if (Verbs.HasSeq(m.Verb))
				return;
			bytes += m.Len;
			if (first < 0)
				first = m.Off;
			last = m.Off;
			if (!pages.TryGetValue(m.Map, out var e))
				pages[m.Map] = e = new Extents();
			e.Add(m.Off / 4096, (m.End + 4095) / 4096);
		}
	}

	public void Malformed()
	{
		lock (l)
			malformed++;
	}

	/// faultcat: messages=12 read=10 data=2 pages=9 bytes=49152 first=0x7000 last=0x2000
	public string Line()
	{
		lock (l)
		{
			var s = $"faultcat: messages={msgs}";
			foreach (var v in Enum.GetValues<Verb>())
				if (verbs[(int)v] > 0)
					s += $" {Verbs.Name(v)}={verbs[(int)v]}";
			s += $" pages={pages.Values.Sum(e => e.Pages)} bytes={bytes}";
			if (first >= 0)
				s += $" first=0x{first:x} last=0x{last:x}";
			if (malformed > 0)
				s += $" malformed={malformed}";
			return s + "\n";
		}
	}
}
