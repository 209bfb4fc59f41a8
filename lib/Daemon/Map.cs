using System.Diagnostics;
using System.Runtime.InteropServices;
using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Daemon;

/// A named map, and its fault path. Read top to bottom, this file is that
/// path: a fault read from a client's userfaultfd becomes a request to the
/// pager (or to the built-in source); the reply becomes a page, copied in
/// once, and every thread waiting on it goes on. The parts it coordinates
/// each keep one kind of state: Pages (what each page is), Waiters and
/// Requests (who waits, what was asked), Filler (the memory, and the one
/// UFFDIO_COPY), WriteBack (dirty pages on their way back), Clock
/// (eviction), Link (the map's FIFOs), Builtin (its own source). Reads
/// and writes through the file view (FileView) wait for pages as faults
/// do, in FileWaits, and are answered from the same memory. Each
/// fault's time, from when pagerd reads it to when its thread is woken,
/// is counted in a Histogram of whoever served it.
public sealed unsafe class Map : IDisposable
{
	public readonly string Name;
	public readonly long Size;    // as asked
	public readonly long Length;  // rounded up to a page
	/// The pages the memory is filled and dropped by, whole: one, or
	/// a huge page's worth (hugepages=2m).
	public readonly long Grain;
	public readonly Options Opt;
	public readonly List<Attachment> Clients = [];
	public readonly Pages Pages;
	public readonly Filler Memory;
	readonly Waiters waiters = new();
	readonly FileWaits fileWaits = new();
	readonly Requests outstanding = new();
	readonly Pieces pieces;
	readonly ReplyFiles files = new();
	readonly ErrorLog errors;
	readonly WriteBack writeBack;
	readonly Clock clock;
	readonly Builtin builtin;
	/// The built-in source's writes and barriers, off the loop.
	readonly SourceWriter writer;
	readonly Link link;
	readonly Action<string> log;
	readonly Loop loop;
	/// Disposed of: reads coming back from other threads are dropped.
	bool gone;
	/// When the map was made: the request stream's times count from it.
	readonly long born = Stopwatch.GetTimestamp();
	/// A request answered later than this after it was asked is told of
	/// on the request stream, as a comment (see pager(7)).
	static readonly long late = Stopwatch.Frequency / 100;

	public long Faults, Requested, Fills, Filled;
	/// The length the file view gives the map: its size, until a
	/// truncate shortens it.
	public long FileSize;
	/// When a client or the file view last wrote to the map.
	public DateTime Modified = DateTime.UtcNow;
	/// Told of [off, off+len) dropped from memory, so that the file view
	/// drops its cached copy too.
	public Action<long, long>? Dropped;
	/// Fault to wake: served by the pager, by the built-in source, by a
	/// page already there, or ended by an error.
	readonly Histogram byPager = new(), bySource = new(), present = new(), failed = new();

	static readonly uffd_msg[] events = new uffd_msg[64];

	/// A new map; or, given the memfd and page state a pagerd before this
	/// one left with the keeper, the same map again: the pages the memory
	/// holds are present, and those unwritten are dirty.
	public Map(string name, long size, Options opt, string dir, Loop loop, Action<string> log, Action<Map, string> ctl,
		int memfd = -1, int statefd = -1)
	{
		Name = name;
		Size = size;
		Opt = opt;
		Grain = Math.Max(1, opt.Huge / Page.Size);
		Length = (Page.Up(size) / Page.Size + Grain - 1) / Grain * Grain * Page.Size;
		FileSize = size;
		this.log = log;
		this.loop = loop;
		State = new PageState(name, Length / Page.Size, statefd);
		Pages = new Pages(Length / Page.Size, State.Unwritten);
		pieces = new Pieces(size);
		errors = new ErrorLog(name, log);
		builtin = new Builtin(opt);
		writer = new SourceWriter(loop);
		writeBack = new WriteBack(this);
		try
		{
			Memory = new Filler(name, Length, opt.Huge, memfd);
		}
		catch
		{
			State.Dispose();
			throw;
		}
		clock = new Clock(Pages, Memory, opt, Grain, writeBack.Flush, (a, b) => Dropped?.Invoke(a * Page.Size, (b - a) * Page.Size));
		try
		{
			link = new Link(this, dir, loop, ctl);
		}
		catch
		{
			Memory.Dispose();
			State.Dispose();
			throw;
		}
		if (memfd >= 0)
			Recover();
	}

	public readonly PageState State;

	/// What the map is, as the `new` line that makes it again.
	public string Definition => $"{Fields.Quote(Name)} {Size} {string.Join(' ', Opt.Words())}";

	void Recover()
	{
		var held = Memory.Held().ToList();
		Pages.Recover(held);
		foreach (var (a, b) in held)
			clock.Arrived(a, b);
		pagerDue = Environment.TickCount64 + (long)PagerReturn.TotalMilliseconds;
		log($"map {Name}: recovered, {Pages.Resident} pages resident, {Pages.DirtyCount} unwritten");
	}

	/// 1. A client's userfaultfd is readable: its faults, a batch at a time.
	public void Events(Attachment a)
	{
		int n = a.Uffd.Read(events);
		for (int i = 0; i < n; i++)
		{
			ref var e = ref events[i];
			long off = a.Offset(e.pagefault_address);
			if (e.@event != Uffd.UFFD_EVENT_PAGEFAULT || off < 0)
			{
				log($"map {Name}: userfaultfd event 0x{e.@event:x} at 0x{e.pagefault_address:x} ignored");
				continue;
			}
			bool write = (e.pagefault_flags & Uffd.UFFD_PAGEFAULT_FLAG_WRITE) != 0;
			if ((e.pagefault_flags & Uffd.UFFD_PAGEFAULT_FLAG_WP) != 0)
				Dirty(a, off / Page.Size);
			else
				Fault(a, off / Page.Size, (int)e.pagefault_ptid, write);
		}
	}

	/// 2. A missing page: the thread waits, and the page is asked for
	/// unless it was already. One that arrived meanwhile (another client's
	/// fault brought it) only needs its thread woken.
	void Fault(Attachment a, long p, int tid, bool write)
	{
		Faults++;
		long now = Stopwatch.GetTimestamp();
		if (Pages.Present[p])
		{
			a.Wake(p * Page.Size, Page.Size);
			present.Since(now, Stopwatch.GetTimestamp());
			return;
		}
		waiters.Add(new Waiter(a, p, tid, write, now));
		if (!Pages.Requested[p])
			Want(p, tid);
	}

	/// 3. What to ask for: the read-ahead window holding p, aligned to its
	/// own size as the kernel's fault-around is, so that a scan in either
	/// direction, or with a stride, asks once a window; cut to the pages
	/// around p that nobody has or asked for, in the map's page units.
	void Want(long p, int tid)
	{
		long unit = Opt.PageSize / Page.Size;
		long window = Math.Max(unit, (Page.Up(Opt.ReadAhead) / Page.Size + unit - 1) / unit * unit);
		long lo = p / window * window, hi = Math.Min(lo + window, Pages.Count);
		long a = p / unit * unit, b = Math.Min(a + unit, Pages.Count);
		while (a - unit >= lo && Free(a - unit, a))
			a -= unit;
		while (b < hi && Free(b, Math.Min(b + unit, hi)))
			b = Math.Min(b + unit, hi);
		Request(a * Page.Size, (b - a) * Page.Size, tid);
	}

	bool Free(long a, long b) => Pages.Present.All(a, b, false) && Pages.Requested.All(a, b, false);

	/// 4. Asks for [off, off+len): of the pager if one is attached, else of
	/// the built-in source, else it waits for a pager.
	public void Request(long off, long len, int tid = 0)
	{
		Pages.Ask(off / Page.Size, Page.Up(off + len) / Page.Size);
		Requested++;
		if (!link.Attached && builtin.Exists)
		{
			Serve(off, len);
			return;
		}
		var r = new Req(off, len, tid, Stopwatch.GetTimestamp());
		outstanding.Add(r);
		if (link.Attached)
			link.Send(r, Size, Micros(r.Asked));
	}

	/// 5. A reply from the pager, on the map's fill FIFO.
	public void Reply(Msg m)
	{
		try
		{
			if (m.Map != Name)
				throw new ProtocolException($"reply names map '{m.Map}' on the fill FIFO of map {Name}");
			// A pager reading ahead past the end supplies the pages inside;
			// on a map of huge pages, one that reaches the map's size
			// reaches the end of its last huge page, which is filled whole.
			if (m.Verb is not (Verb.Ok or Verb.Fail or Verb.Synced) && m.Off >= 0 && m.Off < Length
				&& (m.Len > Length - m.Off || Grain > 1 && m.End >= Size))
				m.Len = Length - m.Off;
			if (m.Verb is not (Verb.Data or Verb.Synced))
				CheckRange(m.Off, m.Len);
			switch (m.Verb)
			{
			case Verb.Data: Data(m); break;
			case Verb.File: FromFile(m); break;
			case Verb.Zero: Zero(m.Off, m.Len, byPager); break;
			case Verb.Error: Error(m.Off, m.Len, "pager: " + m.Text); break;
			case Verb.Punt: Punt(m.Off, m.Len); break;
			case Verb.Evict: Evict(m.Off, m.Len); break;
			case Verb.Ok: writeBack.Done(m.Off, m.Len); break;
			case Verb.Fail: writeBack.Failed(m.Off, m.Len, "pager: " + m.Text); break;
			case Verb.Synced: writeBack.Synced(m.Seq, m.Key("err")); break;
			default: throw new ProtocolException($"'{Verbs.Name(m.Verb)}' is not a reply pagerd takes");
			}
		}
		catch (Exception e)
		{
			BadInput($"{Boundary.Why(e, log)}: '{Parse.Clip(m.Line)}'");
		}
	}

	/// 5a. `file`: pagerd reads the bytes itself, a buffer at a time.
	/// From the page cache at once, else by a read on another thread (5d).
	void FromFile(Msg m)
	{
		for (long done = 0; done < m.Len; done += FillBuffer.Size)
		{
			long at = m.Off + done, foff = m.FileOff + done, n = Math.Min(FillBuffer.Size, m.Len - done);
			int want = (int)Math.Clamp(Size - at, 0, n); // the rest is past the end of the map
			string path = m.Path;
			if (files.ReadNow(path, FillBuffer.Span(want), foff))
			{
				FillBuffer.Span(n)[want..].Clear();
				Fill(at, n, FillBuffer.Ptr, byPager);
			}
			else
				ReadLater(at, n, b => ReplyFiles.ReadSlow(path, b[..want], foff), fd => files.Keep(path, fd), "file reply", byPager);
		}
	}

	/// 5b. `data`: whole pages go straight in; pieces of pages are
	/// gathered until every byte of the page has come. Huge pages come
	/// whole.
	void Data(Msg m)
	{
		if (m.End > Length)
			throw new ProtocolException($"data {m.Off} {m.Len} is outside map {Name} (size {Size})");
		if (Grain > 1)
		{
			CheckRange(m.Off, m.Len);
			for (long at = m.Off; at < m.End; at += FillBuffer.Size)
			{
				var page = FillBuffer.Span(FillBuffer.Size);
				var payload = m.Payload ?? [];
				var src = payload.AsSpan((int)Math.Min(at - m.Off, payload.Length));
				src = src[..Math.Min(src.Length, page.Length)];
				src.CopyTo(page);
				page[src.Length..].Clear(); // past the map's size
				Fill(at, FillBuffer.Size, FillBuffer.Ptr, byPager);
			}
			return;
		}
		for (long p = m.Off / Page.Size; p * Page.Size < m.End; p++)
		{
			long ps = p * Page.Size;
			int s = (int)(Math.Max(m.Off, ps) - ps), e = (int)(Math.Min(m.End, ps + Page.Size) - ps);
			if (Pages.Present[p])
				continue;
			ReadOnlySpan<byte> src = m.Payload.AsSpan((int)(ps + s - m.Off), e - s);
			if (s != 0 || e != Page.Size || pieces.Has(p))
				src = pieces.Add(p, s, src);
			if (src.Length == 0)
				continue; // the rest of the page is still to come
			src.CopyTo(FillBuffer.Span(Page.Size));
			Fill(ps, Page.Size, FillBuffer.Ptr, byPager);
		}
	}

	/// 5c. The built-in source, a buffer at a time: from the page cache
	/// at once, else by a read on another thread (5d).
	void Serve(long off, long len)
	{
		for (long done = 0; done < len; done += FillBuffer.Size)
		{
			long at = off + done, n = Math.Min(FillBuffer.Size, len - done);
			if (builtin.ReadNow(at, FillBuffer.Span(n), Size - at))
				Fill(at, n, FillBuffer.Ptr, bySource);
			else
			{
				string source = Opt.Source;
				long offset = Opt.Offset, left = Size - at;
				ReadLater(at, n, b => Builtin.ReadSlow(source, offset, at, b, left), fd => builtin.Keep(fd, source), $"source {source}", bySource);
			}
		}
	}

	/// 5d. A read that could wait (a cold disk, a file system that does not
	/// answer) is made on a pool thread into a zeroed buffer of its own by
	/// read, which returns the descriptor it opened; back on the loop, keep
	/// is handed that descriptor and the pages are filled, or what failed
	/// is the range's error. So other maps never wait.
	void ReadLater(long at, long n, Func<Span<byte>, int> read, Action<int> keep, string what, Histogram by)
	{
		nint buf = (nint)NativeMemory.AlignedAlloc((nuint)n, Page.Size);
		new Span<byte>((byte*)buf, (int)n).Clear();
		ThreadPool.UnsafeQueueUserWorkItem(_ =>
		{
			int fd = -1;
			string? err = null;
			try
			{
				fd = read(new Span<byte>((byte*)buf, (int)n));
			}
			catch (SysException e)
			{
				err = e.Message;
			}
			loop.Post(() =>
			{
				try
				{
					if (gone)
						Posix.Close(fd);
					else if (err is not null)
						Error(at, n, $"{what}: {err}");
					else
					{
						keep(fd);
						Fill(at, n, (byte*)buf, by);
					}
				}
				finally
				{
					NativeMemory.AlignedFree((void*)buf);
				}
			});
		}, null);
	}

	/// 6. Fills the missing pages of [off, off+len) from src, a run at a
	/// time; pages already there are left alone. Each run is copied into
	/// the first waiting client (which wakes it), the others are woken,
	/// and the clock hears of it; by counts the waits.
	void Fill(long off, long len, byte* src, Histogram by)
	{
		long first = off / Page.Size, end = (off + len) / Page.Size;
		for (long p = first; p < end;)
		{
			long a = Pages.Present.Next(p, end, false);
			if (a == end)
				break;
			long b = Pages.Present.Next(a, end, true);
			var into = Memory.Copy(a * Page.Size, (b - a) * Page.Size, src + (a * Page.Size - off), waiters.First(a, b)?.A);
			Pages.Filled(a, b);
			Fills++;
			Filled += (b - a) * Page.Size;
			Wake(a, b, into, by);
			clock.Arrived(a, b);
			p = b;
		}
		foreach (var r in outstanding.Overlapping(first, end))
			if (Pages.Present.All(r.First, r.Last, true))
				Answered(r);
		foreach (var w in fileWaits.Take(first, end))
			Need(w);
	}

	/// 6a. A request is answered; one answered late is told of.
	void Answered(Req r)
	{
		outstanding.Remove(r);
		long took = Stopwatch.GetTimestamp() - r.Asked;
		if (took > late && link.Attached)
			link.SendLate(r, Micros(r.Asked), Us(took));
	}

	/// 7. Wakes the threads waiting on [a, b). Those of the client the
	/// copy went into are awake already; a writer among them has its page
	/// dirtied and unprotected in the same step. Others retry, and a
	/// writer among them takes a write-protect fault.
	void Wake(long a, long b, Attachment? into, Histogram by)
	{
		long now = Stopwatch.GetTimestamp();
		foreach (var w in waiters.Take(a, b))
		{
			if (w.A != into)
				w.A.Wake(w.Off, Page.Size);
			else if (w.Write)
				Dirty(w.A, w.Page);
			by.Since(w.Since, now);
		}
	}

	/// 8. A client wrote to page p (a write-protect fault, or a write
	/// fault just filled): it is dirty, and the client may write on; of
	/// huge pages, the whole huge page is. A page evicted since the fault
	/// was taken is missing again: the writer waits for it like any
	/// faulting thread.
	void Dirty(Attachment a, long p)
	{
		long g = p / Grain * Grain;
		if (Opt.ReadOnly || a.ReadOnly)
			a.Wake(p * Page.Size, Page.Size);
		else if (!Pages.Present[g])
			Fault(a, p, 0, write: true);
		else
		{
			for (long q = g; q < g + Grain; q++)
				Pages.MarkDirty(q);
			a.Protect(g * Page.Size, Grain * Page.Size, false);
			Modified = DateTime.UtcNow;
			writeBack.Dirtied();
		}
	}

	/// 9. The file view wants the pages of [off, off+len): ready once
	/// they are all present, asked for as a fault would ask; failed when
	/// an error or the map's timeout ends the wait.
	public void Need(long off, long len, Action ready, Action<string> failed) =>
		Need(new FileWait(off / Page.Size, Page.Up(off + len) / Page.Size, Stopwatch.GetTimestamp(), ready, failed));

	/// A wait is looked at again whenever pages of it arrive, since a
	/// page it had may have been evicted meanwhile.
	void Need(FileWait w)
	{
		if (Pages.Present.All(w.First, w.End, true))
		{
			w.Ready();
			return;
		}
		fileWaits.Add(w);
		for (long p = w.First; p < w.End; p++)
			if (!Pages.Present[p] && !Pages.Requested[p])
				Want(p, 0);
	}

	/// 10. A write through the file view. A page it covers only in part
	/// must be present first, since its other bytes are the pager's; a
	/// page it covers whole is replaced. Huge pages must all be present,
	/// since they are written through pagerd's own mapping. The pages are
	/// then dirty, as a client's write makes them, and clients waiting on
	/// them go on.
	public void Write(long off, byte[] bytes, Action done, Action<string> failed)
	{
		long end = off + bytes.Length, a = off / Page.Size, b = Page.Up(end) / Page.Size;
		long cut = end >= Size ? Length : end;
		if (Grain > 1)
		{
			a = a / Grain * Grain;
			b = (b + Grain - 1) / Grain * Grain;
			if (!Pages.Present.All(a, b, true))
			{
				Need(a * Page.Size, (b - a) * Page.Size, () => Write(off, bytes, done, failed), failed);
				return;
			}
		}
		foreach (long p in (long[])[Page.Aligned(off) ? -1 : a, Page.Aligned(cut) ? -1 : b - 1])
			if (p >= 0 && !Pages.Present[p])
			{
				Need(p * Page.Size, Page.Size, () => Write(off, bytes, done, failed), failed);
				return;
			}
		Memory.Write(off, bytes);
		long arrived = (b - a) - Pages.Present.Popcount(a, b);
		Pages.Filled(a, b);
		Wake(a, b, null, present);
		for (long p = a; p < b; p++)
		{
			Pages.MarkDirty(p);
			writeBack.Dirtied();
		}
		Modified = DateTime.UtcNow;
		if (arrived > 0)
			clock.Arrived(a, b);
		foreach (var r in outstanding.Overlapping(a, b))
			if (Pages.Present.All(r.First, r.Last, true))
				Answered(r);
		done();
		foreach (var w in fileWaits.Take(a, b))
			Need(w);
	}

	// That is the fault path. What follows are the ways it ends other
	// than in a page, and the map's other verbs.

	/// Records an error on [off, off+len), tells the clients, and applies
	/// the map's policy to the threads waiting there.
	public void Error(long off, long len, string text)
	{
		(off, len) = Whole(off, len);
		Record(off, len, text);
		long a = off / Page.Size, b = Page.Up(off + len) / Page.Size;
		foreach (var w in fileWaits.Take(a, b))
			w.Failed(text);
		switch (Opt.Policy)
		{
		case Policy.Zero:
			Zero(off, len, failed);
			break;
		case Policy.Sigbus:
			long now = Stopwatch.GetTimestamp();
			foreach (var w in waiters.Take(a, b))
			{
				w.A.Poison(w.Off, Page.Size);
				failed.Since(w.Since, now);
			}
			Forget(a, b);
			break;
		case Policy.Wait:
			foreach (var w in waiters.In(a, b))
				w.Reported = true;
			break;
		}
	}

	/// [off, off+len) widened to the whole huge pages it touches, which
	/// the kernel takes whole.
	public (long Off, long Len) Whole(long off, long len)
	{
		long g = Grain * Page.Size, a = off / g * g;
		return (a, Math.Min(Length, (off + len + g - 1) / g * g) - a);
	}

	/// [a, b) are asked for no more; a later touch asks again.
	void Forget(long a, long b)
	{
		Pages.Unask(a, b);
		foreach (var r in outstanding.Overlapping(a, b))
			outstanding.Remove(r);
	}

	void Zero(long off, long len, Histogram by)
	{
		for (long done = 0; done < len; done += FillBuffer.Size)
		{
			long n = Math.Min(FillBuffer.Size, len - done);
			FillBuffer.Span(n).Clear();
			Fill(off + done, n, FillBuffer.Ptr, by);
		}
	}

	void Punt(long off, long len)
	{
		if (!builtin.Exists)
		{
			log($"map {Name}: {off} {len}: pager punted and there is no built-in source; waiting");
			return;
		}
		foreach (var r in outstanding.Overlapping(off / Page.Size, (off + len) / Page.Size))
			if (r.Off >= off && r.End <= off + len)
				outstanding.Remove(r);
		Serve(off, len);
	}

	/// The most one prefetch asks for: more would only be evicted again,
	/// and a huge sparse map would have pagerd queue requests by the million.
	public const long MaxPrefetch = 1L << 30;

	/// Requests the missing pages of a range that nobody asked for yet:
	/// at most MaxPrefetch (or maxresident) of them, else none and an error.
	public void Prefetch(long off, long len)
	{
		CheckRange(off, len);
		long chunk = Math.Max(Math.Max(Opt.PageSize, Page.Up(Opt.ReadAhead)), 256 << 10) / Page.Size;
		long p = off / Page.Size, end = (off + len) / Page.Size;
		long most = Opt.MaxResident > 0 ? Math.Min(MaxPrefetch, Opt.MaxResident) : MaxPrefetch;
		if (Wanted(p, end, most / Page.Size) * Page.Size > most)
			throw new CtlException($"prefetch {off} {len}: more than {Num.SizeString(most)} of map {Name} is missing, the most one prefetch asks for; prefetch it in parts");
		while (p < end)
		{
			long a = Pages.NextWanted(p, end);
			if (a == end)
				break;
			long b = Math.Min(end, Math.Min(Pages.Present.Next(a, end, true), Pages.Requested.Next(a, end, true)));
			for (long x = a; x < b; x += chunk)
				Request(x * Page.Size, Math.Min(b - x, chunk) * Page.Size);
			p = b;
		}
	}

	/// How many pages of [p, end) are neither present nor asked for,
	/// counting no further than past most.
	long Wanted(long p, long end, long most)
	{
		long n = 0;
		while (p < end && n <= most)
		{
			long a = Pages.NextWanted(p, end);
			long b = Math.Min(end, Math.Min(Pages.Present.Next(a, end, true), Pages.Requested.Next(a, end, true)));
			n += b - a;
			p = b;
		}
		return n;
	}

	/// Drops the clean pages of a range; returns how many went.
	public long Evict(long off, long len)
	{
		CheckRange(off, len);
		return clock.Evict(off / Page.Size, (off + len) / Page.Size);
	}

	public void Sync(Action<List<string>>? done)
	{
		if (AwaitingPager)
		{
			if (deferred.Count == 0)
				log($"map {Name}: sync waits up to {PagerReturn.TotalSeconds:0}s for the pager to come back");
			deferred.Add(done);
		}
		else
			writeBack.Sync(done);
	}

	/// For a while after a restart, a map with nowhere but its pager to
	/// write waits for the pager to come back (faultcat and pagefill look
	/// every 100 ms) before a sync fails for want of one.
	public static readonly TimeSpan PagerReturn = TimeSpan.FromSeconds(10);
	long pagerDue;
	readonly List<Action<List<string>>?> deferred = [];

	bool AwaitingPager => !link.Attached && !builtin.Writable && Environment.TickCount64 < pagerDue;

	/// The syncs that waited for the pager, once it came or the wait ended.
	void Deferred()
	{
		var ds = deferred.ToList();
		deferred.Clear();
		ds.ForEach(writeBack.Sync);
	}

	/// Where write-back sends a dirty run: the pager, else the built-in
	/// source; the answer comes back through writeBack.
	internal void Store(long off, ReadOnlySpan<byte> bytes)
	{
		if (link.Attached)
			link.SendWrite(off, bytes);
		else if (!builtin.Writable)
			writeBack.Failed(off, bytes.Length, "no pager is attached and the map has no source to write to");
		else
		{
			int len = bytes.Length;
			writer.Write(Opt.Source, Opt.Offset, off, bytes[..(int)Math.Min(len, Size - off)], err =>
			{
				if (gone)
					return;
				if (err is null)
					writeBack.Done(off, len);
				else
					writeBack.Failed(off, len, err);
			});
		}
	}

	/// A barrier after the writes so far: the pager's sync, else the
	/// built-in source's fdatasync.
	internal void Barrier(long seq)
	{
		if (link.Attached)
		{
			link.SendSync(seq);
			return;
		}
		writer.Sync(Opt.Source, err =>
		{
			if (!gone)
				writeBack.Synced(seq, err);
		});
	}

	/// Applies the timeout to threads that waited too long, and runs
	/// write-behind; called by the loop's tick.
	public void Tick()
	{
		link.Tick();
		if (deferred.Count > 0 && !AwaitingPager)
			Deferred();
		writeBack.Tick();
		if (Opt.Timeout == TimeSpan.Zero)
			return;
		long limit = Stopwatch.GetTimestamp() - (long)(Opt.Timeout.TotalSeconds * Stopwatch.Frequency);
		var why = $"timeout: no pager answered in {Opt.Timeout.TotalSeconds:0.###}s";
		foreach (var p in waiters.All.Where(w => w.Since < limit && !w.Reported).Select(w => w.Page).Distinct().ToList())
			if (waiters.First(p, p + 1) is not null)
				Error(p * Page.Size, Page.Size, why);
		foreach (var w in fileWaits.Older(limit))
		{
			Record(w.First * Page.Size, (w.End - w.First) * Page.Size, "file view: " + why);
			w.Failed(why);
		}
	}

	/// The pager went away: its writes failed; what it was asked goes to
	/// the built-in source if there is one, else waits for the next pager.
	public void PagerGone()
	{
		log($"map {Name}: pager gone");
		writeBack.Lost();
		if (!builtin.Exists)
			return;
		var asked = outstanding.All.ToList();
		outstanding.Clear();
		foreach (var r in asked)
			Serve(r.Off, r.Len);
	}

	/// A pager came: it is asked again for everything outstanding, since
	/// what went to an earlier one may be lost.
	public void PagerCame()
	{
		log($"map {Name}: pager attached");
		foreach (var r in outstanding.All)
			link.Send(r, Size, Micros(r.Asked));
		Deferred();
	}

	/// Every writer of fill has closed it: a message or page cut short is
	/// an error, and nothing of it reaches a client.
	public void FillHangup(string? partial)
	{
		if (partial is not null)
			BadInput(partial);
		foreach (var p in pieces.Drop())
			BadInput($"page {p} (offset {p * Page.Size}) got only part of its data; dropped");
		files.Dispose();
	}

	/// The map is going while clients are attached (rm force): no page
	/// will come, so threads waiting get SIGBUS, as does any later touch
	/// of a page that is not there; the clients are told.
	public void Removed()
	{
		Record(0, Length, "map removed");
		for (long p = 0; p < Pages.Count;)
		{
			long a = Pages.Present.Next(p, Pages.Count, false);
			if (a == Pages.Count)
				break;
			long b = Pages.Present.Next(a, Pages.Count, true);
			foreach (var c in Clients)
				c.Poison(a * Page.Size, (b - a) * Page.Size);
			p = b;
		}
	}

	public void Detach(Attachment a)
	{
		waiters.Remove(a);
		Clients.Remove(a);
	}

	public void CheckRange(long off, long len)
	{
		if (!Page.Aligned(off) || !Page.Aligned(len))
			throw new ProtocolException($"range {off} {len} of map {Name} is not page-aligned");
		if (Grain > 1 && (off % (Grain * Page.Size) != 0 || (off + len) % (Grain * Page.Size) != 0))
			throw new ProtocolException($"range {off} {len} of map {Name} is not whole huge pages of {Num.SizeString(Opt.Huge)}");
		if (off >= Length || len > Length - off)
			throw new ProtocolException($"range {off} {len} is outside map {Name} (size {Size})");
	}

	/// Keeps an error in the map's log and tells the clients.
	internal void Record(long off, long len, string text) =>
		errors.Record(off, len, text, Clients.Select(c => c.Peer));

	/// Malformed input on a FIFO: recorded and logged; no page is touched.
	public void BadInput(string text) => errors.Record(0, 0, "bad input: " + text, []);

	internal void Log(string text) => log($"map {Name}: {text}");

	/// A Stopwatch timestamp as microseconds since the map was made.
	internal long Micros(long ts) => Us(ts - born);

	static long Us(long ticks) => (long)(ticks * (1e6 / Stopwatch.Frequency));

	public bool PagerAttached => link.Attached;
	public IEnumerable<ErrorEntry> Errors => errors.Entries;
	public long ErrorCount => errors.Count;
	public long DirtyPages => Pages.DirtyCount;
	public long Writing => writeBack.Writing;

	/// The map's status, in the order pagerd(8) gives.
	public IEnumerable<(string Key, string Value)> Status()
	{
		yield return ("name", Name);
		yield return ("size", $"{Size}");
		foreach (var kv in Opt.Fields())
			yield return kv;
		yield return ("resident", $"{Pages.Resident}");
		yield return ("hugepages.needed", $"{(Opt.Huge > 0 ? Length / Opt.Huge : 0)}");
		yield return ("faults", $"{Faults}");
		yield return ("requests", $"{Requested}");
		yield return ("fills", $"{Fills}");
		yield return ("filled", $"{Filled}");
		yield return ("waiting", $"{waiters.Count}");
		yield return ("filewaiting", $"{fileWaits.Count}");
		yield return ("outstanding", $"{outstanding.Count}");
		yield return ("backlog", $"{link.Backlog}");
		yield return ("clients", $"{Clients.Count}");
		yield return ("evicted", $"{clock.Evicted}");
		yield return ("dirty", $"{Pages.DirtyCount}");
		yield return ("writing", $"{writeBack.Writing}");
		yield return ("writes", $"{writeBack.Writes}");
		yield return ("writefails", $"{writeBack.Fails}");
		yield return ("pager", link.Attached ? "yes" : "no");
		yield return ("errors", $"{errors.Count}");
		yield return ("latency.fault.pager", $"{byPager}");
		yield return ("latency.fault.source", $"{bySource}");
		yield return ("latency.fault.present", $"{present}");
		yield return ("latency.fault.error", $"{failed}");
		yield return ("latency.write", $"{writeBack.WriteTimes}");
		yield return ("latency.sync", $"{writeBack.SyncTimes}");
	}

	public void Dispose()
	{
		gone = true;
		foreach (var w in fileWaits.Take(0, Pages.Count))
			w.Failed("map removed");
		link.Dispose();
		builtin.Dispose();
		writer.Dispose();
		files.Dispose();
		Memory.Dispose();
		State.Dispose();
	}
}
