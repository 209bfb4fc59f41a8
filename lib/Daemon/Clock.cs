namespace Pager.Daemon;

/// Keeps a map smaller than its size: clean pages are dropped by punching
/// holes in the memfd, which takes them from every client at once; the
/// next touch faults them back in through the pager. Pages are chosen by
/// a second-chance clock: a page filled since the hand last passed is
/// spared once. Dirty pages are written back first and dropped on a
/// later pass, once clean. Each drop is told to dropped. Pages go a grain
/// at a time: one page, or a huge page's worth.
public sealed class Clock(Pages pages, Filler memory, Options opt, long grain, Action flush, Action<long, long> dropped)
{
	readonly Bitmap chance = new(pages.Count);
	long hand;

	public long Evicted { get; private set; }

	/// [a, b) were filled: spared once, and the bound kept.
	public void Arrived(long a, long b)
	{
		chance.Set(a, b, true);
		if (opt.MaxResident > 0 && pages.Resident * Kernel.Page.Size > opt.MaxResident)
			Shrink();
	}

	/// Over the high water mark (maxresident): evicts down to the low one
	/// (seven eighths of it).
	void Shrink()
	{
		long low = opt.MaxResident / Kernel.Page.Size * 7 / 8, n = pages.Count;
		bool flushed = false;
		for (long steps = 0; pages.Resident > low && steps < 2 * n; steps += grain, hand = (hand + grain) % n)
		{
			if (!pages.Present[hand])
				continue;
			if (chance[hand])
				chance[hand] = false;
			else if (Clean(hand))
				Drop(hand, hand + grain);
			else if (!flushed)
			{
				flush();
				flushed = true;
			}
		}
	}

	/// Drops the clean grains inside [a, b); dirty ones stay. Returns how
	/// many pages went.
	public long Evict(long a, long b)
	{
		long dropped = 0;
		a = (a + grain - 1) / grain * grain;
		b = b / grain * grain;
		for (long p = a; p < b;)
		{
			long x = pages.Present.Next(p, b, true);
			while (x < b && !Clean(x))
				x = pages.Present.Next(x + grain, b, true);
			long y = x;
			while (y < b && Clean(y))
				y += grain;
			if (y > x)
				dropped += Drop(x, y);
			p = y;
		}
		return dropped;
	}

	/// Whether the grain at p may be dropped: every page of it clean.
	bool Clean(long p)
	{
		for (long q = p; q < p + grain; q++)
			if (!pages.Clean(q))
				return false;
		return true;
	}

	long Drop(long a, long b)
	{
		memory.Punch(a * Kernel.Page.Size, (b - a) * Kernel.Page.Size);
		pages.Dropped(a, b);
		chance.Set(a, b, false);
		Evicted += b - a;
		dropped(a, b);
		return b - a;
	}
}
