using Pager.Kernel;

namespace Pager.Daemon;

/// One client's mapping of a map: the client registered its mapping at
/// Base with its own userfaultfd and sent pagerd that descriptor.
public sealed class Attachment(Map map, Peer peer, Userfaultfd uffd, ulong @base, bool readOnly)
{
	public Map Map => map;
	public Peer Peer => peer;
	public Userfaultfd Uffd => uffd;
	public ulong Base => @base;
	public bool ReadOnly => readOnly;

	/// The map offset of an address the client faulted on, or -1 if it
	/// is outside the map.
	public long Offset(ulong addr) =>
		addr >= @base && addr - @base < (ulong)map.Length ? Page.Down((long)(addr - @base)) : -1;

	/// Wakes the client's threads waiting on [off, off+len); a client that
	/// is gone is ignored (its connection's hang-up cleans up).
	public void Wake(long off, long len) => Try(() => uffd.Wake(@base + (ulong)off, (ulong)len));

	/// Write-protects [off, off+len) in this client, or lets it write
	/// (which also wakes a thread that faulted writing there). Of huge
	/// pages, the whole huge pages it touches.
	public void Protect(long off, long len, bool wp)
	{
		(off, len) = map.Whole(off, len);
		if (!readOnly)
			Try(() => uffd.WriteProtect(@base + (ulong)off, (ulong)len, wp));
	}

	/// Raises SIGBUS in the client's threads waiting on [off, off+len),
	/// and in any that touch it later.
	public void Poison(long off, long len)
	{
		// Poison takes only an empty entry: the write-protect marker a
		// writable client has there must go first.
		Protect(off, len, false);
		(off, len) = map.Whole(off, len);
		Try(() => uffd.Poison(@base + (ulong)off, (ulong)len));
	}

	static void Try(Action a)
	{
		try
		{
			a();
		}
		catch (SysException)
		{
		}
	}
}
