using System.Runtime.InteropServices;
using System.Text;
using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Daemon;

/// A named map: one memfd owned by pagerd, the state of its pages, the
/// clients attached to it and the FIFOs its pager talks through.
/// Pages are filled with UFFDIO_COPY, into a waiting client's mapping when
/// there is one (which wakes it at once), else into pagerd's own mapping;
/// either way the page lands in the memfd that every client shares.
public sealed unsafe partial class Map : IDisposable
{
	public const long Page = 4096;

	public readonly string Name;
	public readonly long Size;    // as asked
	public readonly long Length;  // rounded up to a page
	public readonly Options Opt;
	public readonly int Memfd;
	public readonly List<Attachment> Clients = [];

	readonly byte* mem;
	readonly Userfaultfd own;
	readonly Bitmap present, requested;
	readonly List<Waiter> waiters = [];
	readonly List<Req> outstanding = [];
	readonly Dictionary<long, Stage> stages = [];
	readonly List<ErrorEntry> errors = [];
	readonly Action<string> log;
	readonly Builtin builtin;
	readonly Link link;

	public long Faults, Requests, Fills, Filled, ErrorCount;

	public Map(string name, long size, Options opt, string dir, Loop loop, Action<string> log, Action<Map, string> ctl)
	{
		Name = name;
		Size = size;
		Length = (size + Page - 1) & ~(Page - 1);
		Opt = opt;
		this.log = log;
		present = new Bitmap(Length / Page);
		requested = new Bitmap(Length / Page);
		InitWriteBack();
		InitEvict();
		builtin = new Builtin(opt);
		Memfd = Posix.MemfdCreate("pager:" + name);
		try
		{
			Posix.Ftruncate(Memfd, Length, "memfd of map " + name);
			mem = Posix.MapShared(Memfd, Length, true, 0, "memfd of map " + name);
			own = Userfaultfd.Create(Uffd.UFFD_FEATURE_MISSING_SHMEM, Uffd.UFFD_FEATURE_SIGBUS);
			own.Register((ulong)mem, (ulong)Length, Uffd.UFFDIO_REGISTER_MODE_MISSING);
			link = new Link(this, dir, loop, ctl);
		}
		catch
		{
			DisposeMemory();
			throw;
		}
	}

	public bool PagerAttached => link.Attached;
	public long Resident => residentCount;

	/// A fault on a missing page, read from a client's userfaultfd.
	public void Fault(Attachment a, ulong addr, int tid, bool write)
	{
		Faults++;
		long off = (long)(addr - a.Base) & ~(Page - 1);
		if (off < 0 || off >= Length)
			return;
		if (present[off / Page])
		{
			a.Wake(off, Page);
			return;
		}
		waiters.Add(new Waiter(a, off, tid, write));
		if (!requested[off / Page])
			Want(off, tid);
	}

	/// Asks for the page unit holding off, and the read-ahead after it.
	void Want(long off, int tid)
	{
		long start = off & ~(Opt.PageSize - 1);
		long len = Math.Max(Opt.PageSize, (Opt.ReadAhead + Opt.PageSize - 1) & ~(Opt.PageSize - 1));
		Request(start, Math.Min(start + len, Length) - start, tid);
	}

	/// Asks for [off, off+len): of the pager if one is attached, else of
	/// the built-in source, else it waits for a pager.
	public void Request(long off, long len, int tid = 0)
	{
		MarkRequested(off, len);
		Requests++;
		if (!link.Attached && builtin.Exists)
		{
			Serve(off, len);
			return;
		}
		var r = new Req(off, len, tid);
		outstanding.Add(r);
		if (link.Attached)
			link.Send(r, Size);
	}

	/// Requests the missing pages of a range that nobody asked for yet.
	public void Prefetch(long off, long len)
	{
		CheckRange(off, len);
		long chunk = Math.Max(Math.Max(Opt.PageSize, Opt.ReadAhead), 256 << 10);
		long p = off / Page, end = (off + len + Page - 1) / Page;
		while (p < end)
		{
			long a = NextWanted(p, end);
			if (a == end)
				break;
			long b = Math.Min(end, Math.Min(present.Next(a, end, true), requested.Next(a, end, true)));
			for (long x = a; x < b; x += chunk / Page)
				Request(x * Page, Math.Min(b - x, chunk / Page) * Page);
			p = b;
		}
	}

	long NextWanted(long p, long end)
	{
		while (p < end && (present[p] || requested[p]))
			p = Math.Max(present.Next(p, end, false), requested.Next(p, end, false));
		return p;
	}

	void MarkRequested(long off, long len)
	{
		long p = off / Page, end = (off + len) / Page;
		for (; p < end; p++)
			if (!present[p])
				requested[p] = true;
	}

	/// Serves a range from the built-in source, a scratch buffer at a time.
	void Serve(long off, long len)
	{
		for (long done = 0; done < len; done += Scratch.Size)
		{
			long n = Math.Min(Scratch.Size, len - done);
			try
			{
				builtin.Read(off + done, Scratch.Span(n), Size - (off + done));
			}
			catch (SysException e)
			{
				Error(off + done, n, $"source {Opt.Source}: {e.Message}");
				continue;
			}
			Fill(off + done, n, Scratch.Ptr);
		}
	}

	/// Fills the missing pages of [off, off+len) from src and wakes the
	/// threads that wait for them. Pages already there are left alone.
	void Fill(long off, long len, byte* src)
	{
		long p = off / Page, end = (off + len) / Page;
		while (p < end)
		{
			long a = present.Next(p, end, false);
			if (a == end)
				break;
			long b = present.Next(a, end, true);
			var woken = CopyRun(a * Page, (b - a) * Page, src + (a * Page - off));
			present.Set(a, b, true);
			requested.Set(a, b, false);
			Fills++;
			Filled += (b - a) * Page;
			WakeWaiters(a * Page, b * Page, woken);
			Arrived(a, b);
			p = b;
		}
		if (outstanding.Count > 0)
			outstanding.RemoveAll(r => present.All(r.Off / Page, r.End / Page, true));
	}

	/// Copies into the first waiting client's mapping, which wakes its
	/// threads on the range with no further call; returns that client.
	/// Pages go in write-protected, so the first write to each is seen.
	Attachment? CopyRun(long off, long len, byte* src)
	{
		Waiter? w = null;
		foreach (var x in waiters)
			if (x.Off >= off && x.Off < off + len)
			{
				w = x;
				break;
			}
		// A read-only attachment is registered without write-protect mode.
		if (w is not null)
			try
			{
				w.A.Uffd.Copy(w.A.Base + (ulong)off, (ulong)src, (ulong)len, w.A.ReadOnly ? 0 : Uffd.UFFDIO_COPY_MODE_WP);
				return w.A;
			}
			catch (SysException)
			{
				// The client is going away; fill through our own mapping.
			}
		own.Copy((ulong)(mem + off), (ulong)src, (ulong)len);
		return null;
	}

	/// A thread that faulted writing into the client the page was copied
	/// into has its page dirtied and unprotected in the same step; others
	/// retry, and a writer among them takes a write-protect fault.
	void WakeWaiters(long from, long to, Attachment? woken)
	{
		for (int i = waiters.Count - 1; i >= 0; i--)
		{
			var w = waiters[i];
			if (w.Off < from || w.Off >= to)
				continue;
			if (w.A == woken && w.Write)
				Dirty(w.A, w.Off);
			else if (w.A != woken)
				w.A.Wake(w.Off, Page);
			waiters.RemoveAt(i);
		}
	}

	/// Records an error on [off, off+len), tells the clients, and applies
	/// the map's policy to the threads waiting there.
	public void Error(long off, long len, string text)
	{
		Record(off, len, text);
		ApplyPolicy(off, len);
	}

	/// Keeps an error in the map's log (the last hundred) and tells the
	/// clients on their control connections.
	void Record(long off, long len, string text, bool tell = true)
	{
		ErrorCount++;
		errors.Add(new ErrorEntry(DateTime.UtcNow, off, len, text));
		if (errors.Count > 100)
			errors.RemoveAt(0);
		log($"map {Name}: {off} {len}: {text}");
		if (tell)
			foreach (var c in Clients.Select(c => c.Conn).Distinct())
				c.Note($"error {Name} {off} {len} {text}");
	}

	void ApplyPolicy(long off, long len)
	{
		switch (Opt.Policy)
		{
		case Policy.Zero:
			Zero(off, len);
			break;
		case Policy.Sigbus:
			Poison(off, len);
			break;
		case Policy.Wait:
			foreach (var w in waiters.Where(w => w.Off >= off && w.Off < off + len))
				w.Reported = true;
			break;
		}
	}

	void Zero(long off, long len)
	{
		for (long done = 0; done < len; done += Scratch.Size)
		{
			long n = Math.Min(Scratch.Size, len - done);
			Scratch.Span(n).Clear();
			Fill(off + done, n, Scratch.Ptr);
		}
	}

	/// Raises SIGBUS in the threads waiting on the range, as a failed
	/// read of a file mapping does; a later touch asks again.
	void Poison(long off, long len)
	{
		for (int i = waiters.Count - 1; i >= 0; i--)
		{
			var w = waiters[i];
			if (w.Off < off || w.Off >= off + len)
				continue;
			// Poison takes only an empty entry: the write-protect
			// marker a writable client has there must go first.
			w.A.Protect(w.Off, Page, false);
			try
			{
				w.A.Uffd.Poison(w.A.Base + (ulong)w.Off, (ulong)Page);
			}
			catch (SysException)
			{
			}
			waiters.RemoveAt(i);
		}
		requested.Set(off / Page, (off + len + Page - 1) / Page, false);
		outstanding.RemoveAll(r => r.Off < off + len && r.End > off);
	}

	/// Applies the timeout to threads that waited too long.
	public void Tick()
	{
		link.Tick();
		WriteBehind();
		if (Opt.Timeout == TimeSpan.Zero || waiters.Count == 0)
			return;
		long limit = Environment.TickCount64 - (long)Opt.Timeout.TotalMilliseconds;
		foreach (var w in waiters.Where(w => w.Since < limit && !w.Reported).ToList())
			if (waiters.Contains(w))
				Error(w.Off, Page, $"timeout: no pager answered in {Opt.Timeout.TotalSeconds:0.###}s");
	}

	/// The pager went away: what it was asked goes to the built-in source
	/// if there is one, else waits for the next pager.
	public void PagerGone()
	{
		log($"map {Name}: pager gone");
		WritesLost();
		if (!builtin.Exists)
			return;
		var asked = outstanding.ToList();
		outstanding.Clear();
		foreach (var r in asked)
			Serve(r.Off, r.Len);
	}

	/// A pager came: it is asked again for everything outstanding, since
	/// what went to an earlier one may be lost.
	public void PagerCame()
	{
		log($"map {Name}: pager attached");
		foreach (var r in outstanding)
			link.Send(r, Size);
	}

	public void Detach(Attachment a)
	{
		waiters.RemoveAll(w => w.A == a);
		Clients.Remove(a);
	}

	public void CheckRange(long off, long len)
	{
		if (off % Page != 0 || len % Page != 0)
			throw new ProtocolException($"range {off} {len} of map {Name} is not page-aligned");
		if (off >= Length || len > Length - off)
			throw new ProtocolException($"range {off} {len} is outside map {Name} (size {Size})");
	}

	public IEnumerable<ErrorEntry> Errors => errors;

	public string Status()
	{
		var b = new StringBuilder();
		b.Append($"name {Name}\nsize {Size}\n");
		foreach (var w in Opt.Words())
			b.Append(w.Replace('=', ' ')).Append('\n');
		b.Append($"resident {Resident}\nfaults {Faults}\nrequests {Requests}\nfills {Fills}\nfilled {Filled}\n");
		b.Append($"waiting {waiters.Count}\noutstanding {outstanding.Count}\nclients {Clients.Count}\n");
		b.Append($"evicted {Evicted}\n");
		b.Append($"dirty {dirtyCount}\nwriting {inflight.Count}\nwrites {Writes}\nwritefails {WriteFails}\n");
		b.Append($"pager {(link.Attached ? "yes" : "no")}\nerrors {ErrorCount}\n");
		return b.ToString();
	}

	void DisposeMemory()
	{
		if (mem != null)
			Posix.Munmap(mem, Length);
		own?.Dispose();
		Posix.Close(Memfd);
	}

	public void Dispose()
	{
		link?.Dispose();
		builtin.Dispose();
		DisposeMemory();
	}
}

/// One page-aligned buffer the fills go through: UFFDIO_COPY wants an
/// aligned source, and pagerd fills from one thread.
static unsafe class Scratch
{
	public const long Size = 2 << 20;
	public static readonly byte* Ptr = (byte*)NativeMemory.AlignedAlloc((nuint)Size, 4096);
	public static Span<byte> Span(long n) => new(Ptr, (int)n);
}
