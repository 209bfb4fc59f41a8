namespace Pager.Daemon;

/// What pagerd knows of each page of a map, a bit a fact, with the
/// counts kept alongside: pure state, no system calls. A page is present
/// once filled, requested while asked of a pager or source, dirty once a
/// client wrote to it, writing while its bytes are on their way back,
/// and unwritten from its first write until the store took it (ok): the
/// one fact a restarted pagerd cannot learn elsewhere, so its bitmap may
/// be memory that outlives pagerd (PageState).
public sealed class Pages(long count, Bitmap? unwritten = null)
{
	public readonly long Count = count;
	public readonly Bitmap Present = new(count), Requested = new(count), Dirty = new(count), Writing = new(count);
	public readonly Bitmap Unwritten = unwritten ?? new(count);
	public long Resident { get; private set; }
	public long DirtyCount { get; private set; }

	/// Marks the missing pages of [a, b) requested.
	public void Ask(long a, long b)
	{
		for (long p = a; p < b; p++)
			if (!Present[p])
				Requested[p] = true;
	}

	/// [a, b) are no longer asked for (an error, or poison).
	public void Unask(long a, long b) => Requested.Set(a, b, false);

	/// The missing pages of [a, b) arrived.
	public void Filled(long a, long b)
	{
		Resident += (b - a) - Present.Popcount(a, b);
		Present.Set(a, b, true);
		Requested.Set(a, b, false);
	}

	/// The pages of [a, b) were dropped from memory.
	public void Dropped(long a, long b)
	{
		Resident -= Present.Popcount(a, b);
		Present.Set(a, b, false);
	}

	/// A client wrote to page p; false if it was not there to write to.
	public bool MarkDirty(long p)
	{
		if (!Present[p])
			return false;
		if (!Dirty[p])
			DirtyCount++;
		Unwritten[p] = true;
		Dirty[p] = true;
		return true;
	}

	/// The dirty pages of [a, b) go to be written back.
	public void StartWrite(long a, long b)
	{
		DirtyCount -= Dirty.Popcount(a, b);
		Dirty.Set(a, b, false);
		Writing.Set(a, b, true);
	}

	/// The write of [a, b) was answered.
	public void EndWrite(long a, long b) => Writing.Set(a, b, false);

	/// The store took the write of [a, b): what was not written again
	/// meanwhile is no longer unwritten.
	public void Acknowledged(long a, long b)
	{
		for (long p = a; p < b; p++)
			if (!Dirty[p])
				Unwritten[p] = false;
	}

	/// [a, b) must be written again (a failed write or barrier).
	public void Redirty(long a, long b)
	{
		DirtyCount += (b - a) - Dirty.Popcount(a, b);
		Unwritten.Set(a, b, true);
		Dirty.Set(a, b, true);
	}

	/// After a restart: the pages the memory holds are present, and those
	/// of them still unwritten are dirty, to be written (again). An
	/// unwritten page the memory no longer holds cannot be: it was clean
	/// when it went.
	public void Recover(IEnumerable<(long A, long B)> held)
	{
		foreach (var (a, b) in held)
			Filled(a, b);
		for (long p = Unwritten.Next(0, Count, true); p < Count; p = Unwritten.Next(p + 1, Count, true))
			if (!MarkDirty(p))
				Unwritten[p] = false;
	}

	/// Whether page p may be dropped: present, and nothing of it unwritten.
	public bool Clean(long p) => Present[p] && !Dirty[p] && !Writing[p];

	/// The first page at or after p, before end, that is neither present
	/// nor requested, or end.
	public long NextWanted(long p, long end)
	{
		while (p < end && (Present[p] || Requested[p]))
			p = Math.Max(Present.Next(p, end, false), Requested.Next(p, end, false));
		return p;
	}
}
