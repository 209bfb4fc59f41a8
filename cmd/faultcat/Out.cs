using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Faultcat;

/// Standard output, written with write(2) so a closed pipe is seen
/// (EPIPE) rather than ignored. Whole messages are gathered up to
/// PIPE_BUF bytes a write, so that faultcat may feed a fill FIFO that
/// other pagers write too: no message is ever split across writes
/// unless it is larger than PIPE_BUF by itself.
sealed class Out
{
	readonly byte[] buf = new byte[Format.PipeBuf];
	int len;

	public void Write(ReadOnlySpan<byte> msg)
	{
		if (len + msg.Length > buf.Length)
			Flush();
		if (msg.Length >= buf.Length)
			Posix.WriteAll(1, msg, "standard output");
		else
		{
			msg.CopyTo(buf.AsSpan(len));
			len += msg.Length;
		}
	}

	public void Flush()
	{
		if (len > 0)
			Posix.WriteAll(1, buf.AsSpan(0, len), "standard output");
		len = 0;
	}
}
