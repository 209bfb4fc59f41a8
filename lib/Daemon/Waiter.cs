namespace Pager.Daemon;

/// A thread blocked on a missing page since a Stopwatch timestamp; Write
/// if it faulted writing.
public sealed class Waiter(Attachment a, long page, int tid, bool write, long since)
{
	public Attachment A => a;
	public long Page => page;
	public long Off => page * Kernel.Page.Size;
	public int Tid => tid;
	public bool Write => write;
	public long Since => since;
	/// The map's policy was applied (wait): the timeout is not again.
	public bool Reported;
}
