namespace Pager.Daemon;

/// A read or write through the file view waiting, since a Stopwatch
/// timestamp, for the pages [First, End) to be present; it goes on with
/// Ready, or ends with Failed and the reason.
public sealed class FileWait(long first, long end, long since, Action ready, Action<string> failed)
{
	public long First => first;
	public long End => end;
	public long Since => since;
	public Action Ready => ready;
	public Action<string> Failed => failed;
}
