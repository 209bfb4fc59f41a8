using Pager.Kernel;

namespace Pager.Daemon;

/// Keeping a map smaller than its size: clean pages are dropped by
/// punching holes in the memfd, which takes them from every client at
/// once; the next touch faults them back in through the pager. Pages are
/// chosen by a second-chance clock: a page filled since the hand last
/// passed is spared once.
public sealed unsafe partial class Map
{
	Bitmap chance = null!;
	long residentCount, hand;
	public long Evicted;

	void InitEvict() => chance = new Bitmap(Length / Page);

	void Arrived(long a, long b)
	{
		for (long p = a; p < b; p++)
			chance[p] = true;
		residentCount += b - a;
		if (Opt.MaxResident > 0 && residentCount * Page > Opt.MaxResident)
			Shrink();
	}

	/// Over the high water mark (maxresident): evicts down to the low one
	/// (seven eighths of it). Dirty pages are written back first and
	/// evicted on a later pass, once clean.
	void Shrink()
	{
		long low = Opt.MaxResident / Page * 7 / 8, n = Length / Page;
		bool flushed = false;
		for (long steps = 0; residentCount > low && steps < 2 * n; steps++, hand = (hand + 1) % n)
		{
			if (!present[hand])
				continue;
			if (chance[hand])
			{
				chance[hand] = false;
				continue;
			}
			if (dirty[hand] || writing[hand])
			{
				if (!flushed)
					Flush();
				flushed = true;
				continue;
			}
			Drop(hand * Page, Page);
		}
	}

	/// Drops the clean pages of a range; dirty ones stay. Returns how many went.
	public long Evict(long off, long len)
	{
		CheckRange(off, len);
		long dropped = 0, end = (off + len) / Page;
		for (long p = off / Page; p < end;)
		{
			long a = present.Next(p, end, true);
			if (a == end)
				break;
			long b = present.Next(a, end, false);
			for (long x = a; x < b;)
			{
				long y = x;
				while (y < b && !dirty[y] && !writing[y])
					y++;
				if (y > x)
					dropped += Drop(x * Page, (y - x) * Page);
				x = y + 1;
			}
			p = b;
		}
		return dropped;
	}

	long Drop(long off, long len)
	{
		Posix.PunchHole(Memfd, off, len, "memfd of map " + Name);
		present.Set(off / Page, (off + len) / Page, false);
		chance.Set(off / Page, (off + len) / Page, false);
		residentCount -= len / Page;
		Evicted += len / Page;
		return len / Page;
	}
}
