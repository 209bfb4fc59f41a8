using Pager.Kernel;

namespace Pager.Daemon;

/// One client's mapping of a map: the client registered its mapping at
/// Base with its own userfaultfd and sent pagerd that descriptor.
public sealed class Attachment(Map map, Conn conn, Userfaultfd uffd, ulong @base, bool readOnly)
{
	public Map Map => map;
	public Conn Conn => conn;
	public Userfaultfd Uffd => uffd;
	public ulong Base => @base;
	public bool ReadOnly => readOnly;

	/// Wakes the client's threads waiting on [off, off+len); a client that
	/// is gone is ignored (its connection's hang-up cleans up).
	public void Wake(long off, long len) => Try(() => uffd.Wake(@base + (ulong)off, (ulong)len));

	/// Write-protects [off, off+len) in this client, or lets it write
	/// (which also wakes a thread that faulted writing there).
	public void Protect(long off, long len, bool wp)
	{
		if (!readOnly)
			Try(() => uffd.WriteProtect(@base + (ulong)off, (ulong)len, wp));
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

/// A thread blocked on a missing page; Write if it faulted writing.
public sealed class Waiter(Attachment a, long off, int tid, bool write)
{
	public Attachment A => a;
	public long Off => off;
	public int Tid => tid;
	public bool Write => write;
	public readonly long Since = Environment.TickCount64;
	public bool Reported;
}

/// A range asked of the pager and not yet answered.
public sealed record Req(long Off, long Len, int Tid)
{
	public long End => Off + Len;
}

/// An error recorded on a map.
public sealed record ErrorEntry(DateTime Time, long Off, long Len, string Text)
{
	public override string ToString() => $"{Time:yyyy-MM-ddTHH:mm:ss.fffZ} {Off} {Len} {Text}";
}
