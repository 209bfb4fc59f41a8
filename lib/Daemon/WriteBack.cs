using System.Diagnostics;
using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Daemon;

/// Dirty pages and their way back to the store. A client's first write to
/// a page is a write-protect fault: the page is marked dirty and the
/// client may write on. Writing a page back protects it again first, then
/// copies it from pagerd's own mapping, so a write that lands meanwhile
/// faults, dirties the page again, and is written back next time. A write
/// the store took (ok) is durable only once a barrier after it passes
/// (synced); a failed barrier makes its pages dirty again. The time of
/// each write (sent to ok or fail) and each sync (asked to answered) is
/// counted in a Histogram. At most MaxInflight bytes are on their way at
/// once: the rest stay dirty until answers make room, and a sync's
/// barrier waits until every page dirty when it was asked has been sent.
public sealed class WriteBack(Map map)
{
	const long MaxRun = 256 << 10;
	/// So a pager that stops reading or answering costs bounded memory.
	public const long MaxInflight = 16 << 20;
	long inflightBytes;
	/// Dirty pages were left unsent for want of room.
	bool behind;
	readonly Pages pages = map.Pages;
	readonly List<Write> inflight = [];
	readonly List<Write> unsynced = [];
	readonly List<SyncWait> syncs = [];
	long writeSeq, syncSeq;
	/// When the oldest page now dirty was written; 0 when none is.
	long dirtySince;

	public long Writes { get; private set; }
	public long Fails { get; private set; }
	public int Writing => inflight.Count;
	public readonly Histogram WriteTimes = new(), SyncTimes = new();

	/// A write sent at a Stopwatch timestamp.
	sealed record Write(long Off, long Len, long Seq, long Sent);

	/// A sync waiting for its writes and its barrier; Failures are its
	/// answer, one line a failed range.
	sealed class SyncWait(long seq, Action<List<string>>? done)
	{
		public readonly long Seq = seq;
		/// The last write it waits for; while its own flush runs, all.
		public long Upto = long.MaxValue;
		public readonly Action<List<string>>? Done = done;
		public readonly long Since = Stopwatch.GetTimestamp();
		public readonly List<string> Failures = [];
		public bool Asked, Passed;
	}

	/// A page was written by a client.
	public void Dirtied()
	{
		if (dirtySince == 0)
			dirtySince = Environment.TickCount64;
		if (map.Opt.DirtyLimit > 0 && pages.DirtyCount * Page.Size >= map.Opt.DirtyLimit)
			Flush();
	}

	/// Writes back every dirty page, in runs of up to 256k (or a huge
	/// page), as far as MaxInflight allows; once all are sent, the syncs
	/// waiting for that get their barrier.
	public void Flush()
	{
		dirtySince = 0;
		behind = false;
		long end = pages.Count;
		for (long p = 0; p < end;)
		{
			long a = pages.Dirty.Next(p, end, true);
			if (a == end)
				break;
			long b = Math.Min(pages.Dirty.Next(a, end, false), a + Math.Max(MaxRun / Page.Size, map.Grain));
			if (inflight.Count > 0 && inflightBytes + (b - a) * Page.Size > MaxInflight)
			{
				behind = true;
				return;
			}
			Start(a * Page.Size, (b - a) * Page.Size);
			p = b;
		}
		foreach (var s in syncs.Where(s => !s.Asked).ToList())
		{
			s.Asked = true;
			s.Upto = writeSeq;
			map.Barrier(s.Seq);
		}
	}

	void Start(long off, long len)
	{
		foreach (var c in map.Clients)
			c.Protect(off, len, true);
		pages.StartWrite(off / Page.Size, (off + len) / Page.Size);
		var w = new Write(off, len, ++writeSeq, Stopwatch.GetTimestamp());
		inflight.Add(w);
		inflightBytes += len;
		map.Store(off, map.Memory.Bytes(off, len));
	}

	public void Done(long off, long len)
	{
		var w = Settle(off, len) ?? throw new ProtocolException($"ok for {off} {len}, which was not written");
		pages.Acknowledged(off / Page.Size, (off + len) / Page.Size);
		unsynced.Add(w);
		Writes++;
		if (behind)
			Flush();
		CheckSyncs();
	}

	/// A write failed: its pages stay dirty, the error is recorded and
	/// told to the clients, and every sync waiting on it will fail.
	public void Failed(long off, long len, string text)
	{
		var w = Settle(off, len) ?? throw new ProtocolException($"fail for {off} {len}, which was not written");
		pages.Redirty(off / Page.Size, (off + len) / Page.Size);
		Fails++;
		map.Record(off, len, "write-back: " + text);
		foreach (var s in syncs.Where(s => w.Seq <= s.Upto))
			s.Failures.Add($"{off} {len} {text}");
		// Sending the rest now could fail the same way at once, and again:
		// the syncs waiting for them fail instead, and the next sync retries.
		if (behind)
			Unblock();
		CheckSyncs();
	}

	Write? Settle(long off, long len)
	{
		var w = inflight.Find(x => x.Off == off && x.Len == len);
		if (w is null)
			return null;
		inflight.Remove(w);
		inflightBytes -= len;
		pages.EndWrite(off / Page.Size, (off + len) / Page.Size);
		WriteTimes.Since(w.Sent, Stopwatch.GetTimestamp());
		return w;
	}

	/// Writes back everything dirty and asks for a barrier; done gets the
	/// failed ranges, none when all is durable.
	public void Sync(Action<List<string>>? done)
	{
		syncs.Add(new SyncWait(++syncSeq, done));
		Flush();
		CheckSyncs();
	}

	/// A write failed while pages waited for room: the syncs waiting to
	/// send their barrier fail, naming what was never sent.
	void Unblock()
	{
		behind = false;
		foreach (var s in syncs.Where(s => !s.Asked))
		{
			s.Asked = s.Passed = true;
			s.Upto = writeSeq;
			s.Failures.Add($"0 {map.Length} not written back: an earlier write of the map failed");
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
			pages.Redirty(w.Off / Page.Size, (w.Off + w.Len) / Page.Size);
			s.Failures.Add($"{w.Off} {w.Len} sync: {err}");
		}
		if (err is null)
			return;
		if (s.Failures.Count == failed)
			s.Failures.Add($"0 {map.Length} sync: {err}");
		map.Record(0, map.Length, "sync: " + err);
	}

	void CheckSyncs()
	{
		foreach (var s in syncs.ToList())
		{
			if (!s.Passed || inflight.Any(w => w.Seq <= s.Upto))
				continue;
			syncs.Remove(s);
			SyncTimes.Since(s.Since, Stopwatch.GetTimestamp());
			s.Done?.Invoke(s.Failures);
		}
	}

	/// The pager left: what it was asked to write failed, and so did the
	/// barriers it did not pass.
	public void Lost()
	{
		foreach (var w in inflight.ToList())
			Failed(w.Off, w.Len, "the pager went away before answering");
		foreach (var s in syncs.Where(s => !s.Passed).ToList())
			Barrier(s, "the pager went away before answering");
		CheckSyncs();
	}

	/// Under the map's timeout, a write or a barrier the pager has not
	/// answered fails, as a read does; the pages stay dirty.
	void Expire()
	{
		if (map.Opt.Timeout == TimeSpan.Zero)
			return;
		long limit = Stopwatch.GetTimestamp() - (long)(map.Opt.Timeout.TotalSeconds * Stopwatch.Frequency);
		var why = $"timeout: no pager answered in {map.Opt.Timeout.TotalSeconds:0.###}s";
		foreach (var w in inflight.Where(w => w.Sent < limit).ToList())
			Failed(w.Off, w.Len, why);
		foreach (var s in syncs.Where(s => !s.Passed && s.Since < limit).ToList())
			Barrier(s, why);
		CheckSyncs();
	}

	/// Write-behind: once the oldest dirty page has waited long enough,
	/// writes them all back and makes them durable, so a sync has little
	/// left to do. Pages dirty again after a failed write wait anew.
	public void Tick()
	{
		Expire();
		if (pages.DirtyCount == 0)
			dirtySince = 0;
		else if (dirtySince == 0)
			dirtySince = Environment.TickCount64;
		if (map.Opt.WriteBehind > TimeSpan.Zero && dirtySince != 0 && syncs.Count == 0
			&& Environment.TickCount64 - dirtySince >= (long)map.Opt.WriteBehind.TotalMilliseconds)
			Sync(f => f.ForEach(l => map.Log($"write-behind: {l}")));
	}
}
