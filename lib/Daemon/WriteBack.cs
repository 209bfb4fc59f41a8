using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Daemon;

/// Dirty pages and their way back to the store. A client's first write to
/// a page is a write-protect fault: the page is marked dirty and the
/// client may write on. Writing a page back protects it again first, then
/// copies it from pagerd's own mapping, so a write that lands meanwhile
/// faults, dirties the page again, and is written back next time.
public sealed unsafe partial class Map
{
	Bitmap dirty = null!, writing = null!;
	long dirtyCount, writeSeq, syncSeq, lastFlush = Environment.TickCount64;
	readonly List<Write> inflight = [];
	/// Writes the store has (ok) that no barrier has yet made durable: a
	/// failed sync makes their pages dirty again.
	readonly List<Write> unsynced = [];
	readonly List<SyncWait> syncs = [];

	public long Writes, WriteFails;
	public long DirtyPages => dirtyCount;
	public long Writing => inflight.Count;

	sealed record Write(long Off, long Len, long Seq);

	/// A sync waiting for its writes and its barrier; Failures are its
	/// answer, one line a failed range.
	sealed class SyncWait(long seq, Action<List<string>>? done)
	{
		public readonly long Seq = seq;
		/// The last write it waits for; while its own flush runs, all.
		public long Upto = long.MaxValue;
		public readonly Action<List<string>>? Done = done;
		public readonly List<string> Failures = [];
		public bool Passed;
	}

	void InitWriteBack()
	{
		dirty = new Bitmap(Length / Page);
		writing = new Bitmap(Length / Page);
	}

	/// A client wrote to a write-protected page.
	public void WriteFault(Attachment a, ulong addr)
	{
		long off = (long)(addr - a.Base) & ~(Page - 1);
		if (off < 0 || off >= Length)
			return;
		Dirty(a, off);
	}

	void Dirty(Attachment a, long off)
	{
		if (Opt.ReadOnly || a.ReadOnly)
		{
			a.Wake(off, Page);
			return;
		}
		if (!dirty[off / Page])
		{
			dirty[off / Page] = true;
			dirtyCount++;
		}
		a.Protect(off, Page, false);
		if (Opt.DirtyLimit > 0 && dirtyCount * Page >= Opt.DirtyLimit)
			Flush();
	}

	/// Writes back every dirty page, in runs of up to 256k.
	public void Flush()
	{
		lastFlush = Environment.TickCount64;
		long end = Length / Page, max = (256 << 10) / Page;
		for (long p = 0; p < end;)
		{
			long a = dirty.Next(p, end, true);
			if (a == end)
				break;
			long b = Math.Min(dirty.Next(a, end, false), a + max);
			WriteBack(a * Page, (b - a) * Page);
			p = b;
		}
	}

	void WriteBack(long off, long len)
	{
		foreach (var c in Clients)
			c.Protect(off, len, true);
		dirty.Set(off / Page, (off + len) / Page, false);
		dirtyCount -= len / Page;
		writing.Set(off / Page, (off + len) / Page, true);
		var w = new Write(off, len, ++writeSeq);
		inflight.Add(w);
		var bytes = new ReadOnlySpan<byte>(mem + off, (int)len);
		if (link.Attached)
			link.SendWrite(off, bytes);
		else if (builtin.Writable)
			WriteBuiltin(w, bytes);
		else
			WriteFailed(off, len, "no pager is attached and the map has no source to write to");
	}

	void WriteBuiltin(Write w, ReadOnlySpan<byte> bytes)
	{
		try
		{
			builtin.Write(w.Off, bytes, Size - w.Off);
			WriteDone(w.Off, w.Len);
		}
		catch (SysException e)
		{
			WriteFailed(w.Off, w.Len, $"source {Opt.Source}: {e.Message}");
		}
	}

	public void WriteDone(long off, long len)
	{
		var w = Settle(off, len) ?? throw new ProtocolException($"ok for {off} {len}, which was not written");
		unsynced.Add(w);
		Writes++;
		CheckSyncs();
	}

	/// A write failed: its pages stay dirty, the error is recorded and
	/// told to the clients, and every sync waiting on it will fail.
	public void WriteFailed(long off, long len, string text)
	{
		var w = Settle(off, len) ?? throw new ProtocolException($"fail for {off} {len}, which was not written");
		Redirty(off, len);
		WriteFails++;
		Record(off, len, "write-back: " + text);
		foreach (var s in syncs.Where(s => w.Seq <= s.Upto))
			s.Failures.Add($"{off} {len} {text}");
		CheckSyncs();
	}

	void Redirty(long off, long len)
	{
		for (long p = off / Page; p < (off + len) / Page; p++)
			if (!dirty[p])
			{
				dirty[p] = true;
				dirtyCount++;
			}
	}

	Write? Settle(long off, long len)
	{
		var w = inflight.Find(x => x.Off == off && x.Len == len);
		if (w is null)
			return null;
		inflight.Remove(w);
		writing.Set(off / Page, (off + len) / Page, false);
		return w;
	}

	/// Writes back everything dirty and asks for a barrier; done gets the
	/// failed ranges, none when all is durable.
	public void Sync(Action<List<string>>? done)
	{
		var s = new SyncWait(++syncSeq, done);
		syncs.Add(s);
		Flush();
		s.Upto = writeSeq;
		if (link.Attached)
			link.SendSync(s.Seq);
		else
			SyncBuiltin(s);
		CheckSyncs();
	}

	void SyncBuiltin(SyncWait s)
	{
		try
		{
			builtin.Sync();
			Barrier(s, null);
		}
		catch (SysException e)
		{
			Barrier(s, $"source {Opt.Source}: {e.Message}");
		}
	}

	public void Synced(long seq, string? err)
	{
		var s = syncs.Find(x => x.Seq == seq) ?? throw new ProtocolException($"synced {seq}, which was not asked");
		Barrier(s, err);
		CheckSyncs();
	}

	/// A barrier passed, or failed: the writes before it are durable, or
	/// their pages are dirty again, to be written with the next sync.
	void Barrier(SyncWait s, string? err)
	{
		s.Passed = true;
		int failed = s.Failures.Count;
		foreach (var w in unsynced.Where(w => w.Seq <= s.Upto).ToList())
		{
			unsynced.Remove(w);
			if (err is null)
				continue;
			Redirty(w.Off, w.Len);
			s.Failures.Add($"{w.Off} {w.Len} sync: {err}");
		}
		if (err is null)
			return;
		if (s.Failures.Count == failed)
			s.Failures.Add($"0 {Length} sync: {err}");
		Record(0, Length, "sync: " + err);
	}

	void CheckSyncs()
	{
		foreach (var s in syncs.ToList())
		{
			if (!s.Passed || inflight.Any(w => w.Seq <= s.Upto))
				continue;
			syncs.Remove(s);
			s.Done?.Invoke(s.Failures);
		}
	}

	/// The pager left: what it was asked to write failed, and so did the
	/// barriers it did not pass.
	void WritesLost()
	{
		foreach (var w in inflight.ToList())
			WriteFailed(w.Off, w.Len, "the pager went away before answering");
		foreach (var s in syncs.Where(s => !s.Passed).ToList())
			Barrier(s, "the pager went away before answering");
		CheckSyncs();
	}

	/// Write-behind: once dirty pages have waited long enough, writes them
	/// back and makes them durable, so a sync has little left to do.
	void WriteBehind()
	{
		if (Opt.WriteBehind > TimeSpan.Zero && dirtyCount > 0 && syncs.Count == 0
			&& Environment.TickCount64 - lastFlush >= (long)Opt.WriteBehind.TotalMilliseconds)
			Sync(f => f.ForEach(l => log($"map {Name}: write-behind: {l}")));
	}
}
