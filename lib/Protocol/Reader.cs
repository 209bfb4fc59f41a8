namespace Pager.Protocol;

/// Blocking message reader over a stream, for the commands.
/// Malformed input is reported to onError and skipped.
public sealed class Reader(Stream input, Decoder.ErrorHandler onError)
{
	readonly Decoder dec = new();
	readonly Queue<Msg> ready = new();
	readonly byte[] buf = new byte[64 << 10];
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
				eof = true;
				dec.End(onError);
				break;
			}
			dec.Feed(buf.AsSpan(0, n), ready.Enqueue, onError);
		}
		return ready.Count > 0 ? ready.Dequeue() : null;
	}
}
