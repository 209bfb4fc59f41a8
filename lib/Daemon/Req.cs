namespace Pager.Daemon;

/// A range asked of the pager and not yet answered.
public sealed class Req(long off, long len, int tid)
{
	public long Off => off;
	public long Len => len;
	public int Tid => tid;
	public long End => Off + Len;
	public long First => Off / Kernel.Page.Size;
	public long Last => (End + Kernel.Page.Size - 1) / Kernel.Page.Size;
}
