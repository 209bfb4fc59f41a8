using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Client;

/// A map attached to this process: memory whose faults pagerd serves.
/// The control connection stays open while attached: errors on the map
/// arrive on it (Note), and Dispose detaches. When pagerd goes away the
/// mapping attaches again to the pagerd started after it, within the
/// grace time (pagerd(8), "Restarts").
public sealed unsafe class Mapping : IDisposable
{
	public string Name { get; }
	public long Size { get; }
	public long Length { get; }
	public long PageSize { get; }
	public bool ReadOnly { get; }
	public byte* Pointer { get; private set; }

	/// The connection to pagerd: replaced when the mapping attaches again.
	volatile Control ctl;
	readonly Userfaultfd uffd;
	readonly TimeSpan grace;
	readonly string? root;
	volatile bool detaching;
	/// Attaching again has failed for good: faults raise SIGBUS.
	volatile bool failed;
	/// Pulsed when ctl is replaced or failed is set.
	readonly object again = new();
	Thread? failsafe;

	/// Errors pagerd reports on this map, e.g. "error words 0 4096 pager: ..."
	public event Action<string>? Note;

	Mapping(string name, Control ctl, AttachInfo info, int memfd, AttachOptions o)
	{
		Name = name;
		this.ctl = ctl;
		Size = info.Size;
		Length = info.Length;
		PageSize = info.PageSize;
		ReadOnly = info.ReadOnly;
		grace = o.Grace ?? DefaultGrace();
		root = o.Root;
		try
		{
			Pointer = Posix.MapShared(memfd, Length, !ReadOnly, o.Address, "map " + name);
		}
		finally
		{
			Posix.Close(memfd);
		}
		// A forked child would see the range unregistered, its missing
		// pages as zeros: it gets no mapping at all instead.
		Posix.Madvise(Pointer, Length, Posix.MADV_DONTFORK, "map " + name);
		// A writable mapping is write-protected all over, so that pagerd
		// sees the first write to every page and knows it is dirty.
		ulong wp = ReadOnly ? 0 : Uffd.UFFD_FEATURE_PAGEFAULT_FLAG_WP | Uffd.UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
		uffd = Userfaultfd.Create(Uffd.UFFD_FEATURE_MISSING_SHMEM | wp, Uffd.UFFD_FEATURE_THREAD_ID | Uffd.UFFD_FEATURE_POISON);
		uffd.Register((ulong)Pointer, (ulong)Length,
			Uffd.UFFDIO_REGISTER_MODE_MISSING | (ReadOnly ? 0 : Uffd.UFFDIO_REGISTER_MODE_WP));
		if (!ReadOnly)
			uffd.WriteProtect((ulong)Pointer, (ulong)Length, true);
		Listen(ctl);
		ctl.Call(Wire.Uffd(name, (ulong)Pointer, ReadOnly), uffd.Fd);
	}

	void Listen(Control c)
	{
		c.Note += n => Note?.Invoke(n);
		c.Lost += Lost;
	}

	public static Mapping Attach(string name, AttachOptions? o = null)
	{
		o ??= new AttachOptions();
		var ctl = new Control(o.Root);
		try
		{
			var body = ctl.Call(Wire.Attach(name, o.ReadOnly), -1, out int memfd);
			if (memfd < 0 || body.Count != 1)
			{
				Posix.Close(memfd);
				throw new PagerException($"attach {name}: pagerd sent no memory");
			}
			AttachInfo info;
			try
			{
				info = AttachInfo.Parse(body[0]);
			}
			catch (ProtocolException e)
			{
				Posix.Close(memfd);
				throw new PagerException($"attach {name}: {e.Message}");
			}
			return new Mapping(name, ctl, info, memfd, o);
		}
		catch
		{
			ctl.Dispose();
			throw;
		}
	}

	/// The map's bytes as a span. Touching a missing page through it from
	/// managed code blocks the garbage collector until the page arrives;
	/// Read and Write do not.
	public Span<byte> Span(long off, int len)
	{
		Check(off, len);
		return new Span<byte>(Pointer + off, len);
	}

	/// Writes back every page written so far and returns once all of it is
	/// durable; otherwise throws SyncException naming each failed range and
	/// the pager's message. The msync of this toolkit.
	public void Sync(TimeSpan? timeout = null)
	{
		for (;;)
		{
			var c = ctl;
			try
			{
				var lines = c.Call($"sync {Name}", -1, out _, timeout ?? TimeSpan.FromMinutes(10));
				if (lines.Count > 0)
					throw new SyncException(Name, lines);
				return;
			}
			catch (PagerException) when (!c.Connected && Reattached(c))
			{
				// pagerd went away during the sync: the pages it had not
				// written are still dirty with the new one; sync again.
			}
		}
	}

	/// Waits until the connection c is replaced by a new one (true) or
	/// attaching again has failed (false).
	bool Reattached(Control c)
	{
		lock (again)
			while (ctl == c && !failed && !detaching)
				Monitor.Wait(again, 100);
		return ctl != c;
	}

	/// Copies bytes out of the map. The copy runs in native code: a thread
	/// that faults there does not hold up the garbage collector while its
	/// page is on the way, as one faulting in managed code would.
	public void Read(long off, Span<byte> dst)
	{
		Check(off, dst.Length);
		fixed (byte* d = dst)
			Posix.Memcpy(d, Pointer + off, dst.Length);
	}

	/// Copies bytes into the map, in native code as Read does.
	public void Write(long off, ReadOnlySpan<byte> src)
	{
		Check(off, src.Length);
		fixed (byte* s = src)
			Posix.Memcpy(Pointer + off, s, src.Length);
	}

	void Check(long off, int len)
	{
		if (off < 0 || len < 0 || off + len > Length)
			throw new ArgumentOutOfRangeException(nameof(off), $"{off}+{len} is outside map {Name} of {Length} bytes");
	}

	static TimeSpan DefaultGrace()
	{
		var g = Environment.GetEnvironmentVariable("PAGER_GRACE");
		return string.IsNullOrEmpty(g) ? TimeSpan.FromSeconds(10) : Num.Duration(g, "PAGER_GRACE");
	}

	/// pagerd went away. Faults wait while the mapping attaches again to
	/// a pagerd started after it, for up to the grace time; then every
	/// fault on a missing page, pending or new, is failed loudly with
	/// SIGBUS: a missing page must never read as zeros. A page that is
	/// there stays so; a write to it is let through, as there is nowhere
	/// left to write it back to.
	void Lost()
	{
		// Under the lock Dispose sets detaching in: a failsafe it can see
		// has been started, and none starts after it.
		lock (again)
		{
			if (detaching)
				return;
			failsafe = new Thread(Reattach) { IsBackground = true, Name = "pager failsafe" };
			failsafe.Start();
		}
	}

	/// Attaches again: the same memory, the same userfaultfd, on a new
	/// connection; pagerd checks both as at the first attach, and wakes
	/// the threads whose faults the one that died never answered.
	void Reattach()
	{
		var end = DateTime.UtcNow + grace;
		for (; DateTime.UtcNow < end && !detaching; Thread.Sleep(100))
		{
			Control c;
			try
			{
				c = new Control(root);
			}
			catch (PagerException)
			{
				continue;
			}
			try
			{
				c.Call(Wire.Attach(Name, ReadOnly), -1, out int memfd);
				Posix.Close(memfd);
				Listen(c);
				c.Call(Wire.Uffd(Name, (ulong)Pointer, ReadOnly), uffd.Fd);
			}
			catch (PagerException)
			{
				c.Dispose();
				continue;
			}
			var old = ctl;
			lock (again)
			{
				ctl = c;
				Monitor.PulseAll(again);
			}
			old.Dispose();
			return;
		}
		lock (again)
		{
			failed = true;
			Monitor.PulseAll(again);
		}
		if (!detaching)
			FailFaults();
	}

	void FailFaults()
	{
		Say($"pager: map {Name}: lost pagerd (control connection closed) and no pagerd took the map back in {grace.TotalSeconds:0.###}s; faults on missing pages now raise SIGBUS\n");
		var events = new uffd_msg[16];
		uffd.Wake((ulong)Pointer, (ulong)Length);
		while (!detaching)
		{
			if (!Posix.Poll(uffd.Fd, Posix.POLLIN, 100))
				continue;
			int n = uffd.Read(events);
			for (int i = 0; i < n; i++)
			{
				if (events[i].@event != Uffd.UFFD_EVENT_PAGEFAULT)
					continue;
				var page = (ulong)Page.Down((long)events[i].pagefault_address);
				bool wp = (events[i].pagefault_flags & Uffd.UFFD_PAGEFAULT_FLAG_WP) != 0;
				// Poison takes only an empty entry: a writable mapping's
				// write-protect marker must go first.
				if (!ReadOnly)
					uffd.WriteProtect(page, Page.Size, false, wake: wp);
				if (!wp)
					uffd.Poison(page, Page.Size);
			}
		}
	}

	/// Writes to standard error with write(2): .NET's Console would set up
	/// terminal and signal handling in a program that is not .NET's (one
	/// using libpager), and there is no one to tell if it fails.
	static void Say(string line)
	{
		try
		{
			Posix.WriteAll(2, System.Text.Encoding.UTF8.GetBytes(line), "standard error");
		}
		catch (SysException)
		{
		}
	}

	public void Dispose()
	{
		if (Pointer == null)
			return;
		lock (again)
			detaching = true;
		if (ctl.Connected)
			try
			{
				ctl.Call(Wire.Detach(Name));
			}
			catch (PagerException)
			{
			}
		failsafe?.Join(TimeSpan.FromSeconds(5));
		uffd.Unregister((ulong)Pointer, (ulong)Length);
		Posix.Munmap(Pointer, Length);
		Pointer = null;
		uffd.Dispose();
		ctl.Dispose();
	}
}
