namespace Pager.Daemon;

/// An error recorded on a map.
public sealed record ErrorEntry(DateTime Time, long Off, long Len, string Text)
{
	public override string ToString() => $"{Time:yyyy-MM-ddTHH:mm:ss.fffZ} {Off} {Len} {Text}";
}
