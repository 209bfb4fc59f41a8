using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Faultcat;

/// The input from a position on, so that the exact bytes of each message
/// can be copied out once the decoder has found where it ends.
sealed class Hold
{
	byte[] buf = new byte[128 << 10];
	long start; // the input position of buf[0]
	int len;

	/// Appends input, forgetting what lies before keep.
	public void Add(ReadOnlySpan<byte> d, long keep)
	{
		int drop = (int)(keep - start);
		buf.AsSpan(drop, len - drop).CopyTo(buf);
		len -= drop;
		start = keep;
		if (len + d.Length > buf.Length)
			Array.Resize(ref buf, Math.Max(2 * buf.Length, len + d.Length));
		d.CopyTo(buf.AsSpan(len));
		len += d.Length;
	}

	public ReadOnlySpan<byte> Span(long from, long to) => buf.AsSpan((int)(from - start), (int)(to - from));
}
