namespace Pager.Protocol;

/// Blocking message reader over a stream, for the commands.
/// Malformed input is reported to onError and skipped. At the end of
/// input, again (if given) may make input go on as a new stream: a
/// message the old one cut short is reported, never joined to the new.
public sealed class Reader(Stream input, Decoder.ErrorHandler onError, Func<bool>? again = null)
{
	Decoder dec = new();
	readonly Queue<Msg> ready = new();
	readonly byte[] buf = new byte[64 << 10];
	Decoder.MsgHandler? enqueue;
	bool eof;

	/// Whether a message has been read and not yet taken: Next will not
	/// wait for input.
	public bool Buffered => ready.Count > 0;

	/// The next message, or null at end of input.
	public Msg? Next()
	{
		while (ready.Count == 0 && !eof)
		{
			int n = input.Read(buf, 0, buf.Length);
			if (n == 0)
			{
				dec.End(onError);
				if (again?.Invoke() == true)
				{
					dec = new();
					continue;
				}
				eof = true;
				break;
			}
			dec.Feed(buf.AsSpan(0, n), enqueue ??= ready.Enqueue, onError);
		}
		return ready.Count > 0 ? ready.Dequeue() : null;
	}
}
