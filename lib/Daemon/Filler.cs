using Pager.Kernel;

namespace Pager.Daemon;

/// A map's memory: the memfd every client maps, pagerd's own mapping of
/// it, and the one way bytes get in, UFFDIO_COPY. A copy goes into a
/// waiting client's mapping when there is one, which wakes its threads
/// there with no further call; else into pagerd's own mapping, which is
/// registered with a userfaultfd of its own (with the SIGBUS feature, so
/// that pagerd never waits on its own memory). Either way the page lands
/// in the memfd that every client shares.
public sealed unsafe class Filler : IDisposable
{
	public readonly int Memfd;
	public readonly long Length;
	readonly string what;
	readonly byte* mem;
	readonly Userfaultfd own;

	/// A new memfd of length bytes, or the one in memfd (kept by the
	/// keeper from a pagerd before this one), with the pages it holds.
	public Filler(string name, long length, int memfd = -1)
	{
		Length = length;
		what = "memfd of map " + name;
		Memfd = memfd >= 0 ? memfd : Posix.MemfdCreate("pager:" + name);
		try
		{
			if (memfd < 0 || Posix.Fstat(Memfd, what).Size != length)
				Posix.Ftruncate(Memfd, length, what);
			mem = Posix.MapShared(Memfd, length, true, 0, what);
			own = Userfaultfd.Create(Uffd.UFFD_FEATURE_MISSING_SHMEM, Uffd.UFFD_FEATURE_SIGBUS);
			own.Register((ulong)mem, (ulong)length, Uffd.UFFDIO_REGISTER_MODE_MISSING);
		}
		catch
		{
			Dispose();
			throw;
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
	/// client at once.
	public void Write(long off, ReadOnlySpan<byte> bytes) => Posix.PWrite(Memfd, bytes, off, what);

	/// The pages the memfd holds, as runs [a, b) of page numbers.
	public IEnumerable<(long A, long B)> Held() =>
		Posix.DataRuns(Memfd, Length, what).Select(r => (r.Off / Page.Size, Page.Up(r.Off + r.Len) / Page.Size));

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
