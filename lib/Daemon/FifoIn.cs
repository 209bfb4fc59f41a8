using Pager.Kernel;

namespace Pager.Daemon;

/// The read end pagerd keeps on one of its FIFOs (fill, ctl). When the
/// last writer closes, it reports the hang-up and opens the FIFO afresh,
/// so the next writer is heard, without ever leaving the FIFO readerless.
public sealed class FifoIn : IDisposable
{
	readonly Loop loop;
	readonly string path;
	readonly Action<ReadOnlySpan<byte>> onData;
	readonly Action onHangup;
	/// One buffer for every FIFO: the loop reads one at a time, and what
	/// is read is consumed (parsed, or copied) before the next read. A
	/// buffer each cost every map 128 KiB.
	static readonly byte[] buf = new byte[64 << 10];
	int fd = -1;

	public FifoIn(Loop loop, string path, Action<ReadOnlySpan<byte>> onData, Action onHangup)
	{
		this.loop = loop;
		this.path = path;
		this.onData = onData;
		this.onHangup = onHangup;
		Posix.Mkfifo(path, 0x180); // 0600: the owner's alone
		Open();
	}

	public string Path => path;

	void Open()
	{
		int old = fd;
		fd = Posix.Open(path, Posix.O_RDONLY | Posix.O_NONBLOCK);
		loop.Add(fd, Epoll.In, Ready);
		if (old >= 0)
		{
			loop.Remove(old);
			Posix.Close(old);
		}
	}

	void Ready(uint events)
	{
		for (;;)
		{
			int n = Posix.Read(fd, buf, path);
			if (n < 0)
				return;
			if (n == 0)
			{
				onHangup();
				Open();
				return;
			}
			onData(buf.AsSpan(0, n));
			// A short read emptied the pipe; epoll says when there is more.
			if (n < buf.Length)
				return;
		}
	}

	public void Dispose()
	{
		// The name goes first, so a pager that sees the end finds it gone.
		Posix.Unlink(path);
		loop.Remove(fd);
		Posix.Close(fd);
	}
}
