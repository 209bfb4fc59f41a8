using Pager.Kernel;

namespace Pager.Daemon;

/// A map's memory: the memfd every client maps, pagerd's own mapping of
/// it, and the one way bytes get in, UFFDIO_COPY. A copy goes into a
/// waiting client's mapping when there is one, which wakes its threads
/// there with no further call; else into pagerd's own mapping, which is
/// registered with a userfaultfd of its own (with the SIGBUS feature, so
/// that pagerd never waits on its own memory). Either way the page lands
/// in the memfd that every client shares. A memfd of huge pages
/// (hugetlbfs) takes whole huge pages only, in every call here.
public sealed unsafe class Filler : IDisposable
{
	public readonly int Memfd;
	public readonly long Length;
	readonly string what;
	/// The huge page size, or zero for ordinary pages.
	readonly long huge;
	readonly byte* mem;
	readonly Userfaultfd own;

	/// A new memfd of length bytes, or the one in memfd (kept by the
	/// keeper from a pagerd before this one), with the pages it holds.
	public Filler(string name, long length, long huge = 0, int memfd = -1)
	{
		Length = length;
		this.huge = huge;
		what = "memfd of map " + name;
		Memfd = memfd >= 0 ? memfd : Posix.MemfdCreate("pager:" + name, huge > 0);
		try
		{
			if (memfd < 0 || Posix.Fstat(Memfd, what).Size != length)
				Posix.Ftruncate(Memfd, length, what);
			mem = MapOwn(name);
			own = Userfaultfd.Create(Uffd.UFFD_FEATURE_MISSING_SHMEM | (huge > 0 ? Uffd.UFFD_FEATURE_MISSING_HUGETLBFS : 0), Uffd.UFFD_FEATURE_SIGBUS);
			own.Register((ulong)mem, (ulong)length, Uffd.UFFDIO_REGISTER_MODE_MISSING);
		}
		catch
		{
			Dispose();
			throw;
		}
	}

	/// pagerd's own mapping. Of huge pages, it reserves every page the map
	/// can hold, so a map the pool cannot hold fails here, not at a fault.
	byte* MapOwn(string name)
	{
		try
		{
			return Posix.MapShared(Memfd, Length, true, 0, what);
		}
		catch (SysException e) when (huge > 0 && e.Errno == Errno.ENOMEM)
		{
			throw new SysException("mmap", e.Errno,
				$"{what}: it needs {Length / huge} huge pages of {huge >> 20} MiB and the pool has fewer free (see vm.nr_hugepages in /proc/sys/vm)");
		}
	}

	/// Copies len bytes from src to [off, off+len), into a's mapping if
	/// a is given and still there; returns the client it went into, or
	/// null for pagerd's own mapping. Writable clients get the pages
	/// write-protected, so that the first write to each is seen.
	public Attachment? Copy(long off, long len, byte* src, Attachment? a)
	{
		if (a is not null)
			try
			{
				a.Uffd.Copy(a.Base + (ulong)off, (ulong)src, (ulong)len, a.ReadOnly ? 0 : Uffd.UFFDIO_COPY_MODE_WP);
				return a;
			}
			catch (SysException)
			{
				// The client is going away; fill through our own mapping.
			}
		own.Copy((ulong)(mem + off), (ulong)src, (ulong)len);
		return null;
	}

	/// The bytes of [off, off+len), which must all be present: pagerd's
	/// mapping raises SIGBUS on a missing page.
	public ReadOnlySpan<byte> Bytes(long off, long len) => new(mem + off, (int)len);

	/// Writes bytes at off straight into the memfd (the file view's
	/// writes): a page that was missing is allocated there, for every
	/// client at once. hugetlbfs has no write(2): there the pages must be
	/// present, and the bytes are copied in through pagerd's mapping.
	public void Write(long off, ReadOnlySpan<byte> bytes)
	{
		if (huge > 0)
			bytes.CopyTo(new Span<byte>(mem + off, bytes.Length));
		else
			Posix.PWrite(Memfd, bytes, off, what);
	}

	/// The pages the memfd holds, as runs [a, b) of page numbers. Of huge
	/// pages, where SEEK_DATA calls the whole file data, each huge page
	/// is tried in pagerd's own mapping.
	public IEnumerable<(long A, long B)> Held()
	{
		if (huge == 0)
			return Posix.DataRuns(Memfd, Length, what).Select(r => (r.Off / Page.Size, Page.Up(r.Off + r.Len) / Page.Size));
		var held = new List<(long, long)>();
		for (long off = 0; off < Length; off += huge)
			if (Posix.Populated(mem + off, huge, what))
				held.Add((off / Page.Size, (off + huge) / Page.Size));
		return held;
	}

	/// Drops [off, off+len) from the memfd, and so from every client.
	public void Punch(long off, long len) => Posix.PunchHole(Memfd, off, len, what);

	public void Dispose()
	{
		if (mem != null)
			Posix.Munmap(mem, Length);
		own?.Dispose();
		Posix.Close(Memfd);
	}
}
