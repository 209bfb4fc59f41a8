using Pager.Protocol;

namespace Pager.Pagefill;

/// The order pager(7) needs among requests served at once. Each request
/// gets a ticket as it arrives; a write is outstanding from then until
/// its reply has gone out. A read or a write waits for the earlier
/// writes to the bytes it covers, so later bytes land last and a read
/// sees what was written before it; a sync waits for every earlier write.
/// Earlier requests are taken from the queue first, so the writes waited
/// for are already being served.
sealed class Order
{
	readonly object mu = new();
	readonly Dictionary<long, (long Off, long End)> writes = [];
	long next;

	/// A ticket for m, taken in the order the requests arrive.
	public long Admit(Msg m)
	{
		lock (mu)
		{
			long t = next++;
			if (m.Verb == Verb.Write)
				writes[t] = (m.Off, m.End);
			return t;
		}
	}

	/// Waits until no write admitted before t and overlapping off..end is outstanding.
	public void Wait(long t, long off, long end)
	{
		lock (mu)
			while (Blocked(t, off, end))
				Monitor.Wait(mu);
	}

	bool Blocked(long t, long off, long end)
	{
		foreach (var (u, w) in writes)
			if (u < t && w.Off < end && off < w.End)
				return true;
		return false;
	}

	/// Ticket t's reply has gone out.
	public void Done(long t)
	{
		lock (mu)
			if (writes.Remove(t))
				Monitor.PulseAll(mu);
	}
}
