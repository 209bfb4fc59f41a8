namespace Pager.Daemon;

/// A range asked of the pager and not yet answered, since a Stopwatch
/// timestamp.
public sealed class Req(long off, long len, int tid, long asked)
{
	public long Asked => asked;
	public long Off => off;
	public long Len => len;
	public int Tid => tid;
	public long End => Off + Len;
	public long First => Off / Kernel.Page.Size;
	public long Last => (End + Kernel.Page.Size - 1) / Kernel.Page.Size;
}
