using System.Text;
using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Daemon;

/// The write end of a FIFO whose reader comes and goes (a map's fault
/// FIFO). pagerd never holds the read end, so an open with O_NONBLOCK
/// succeeds exactly when a reader is there: Probe tries it on each tick.
/// The stream is for one reader: with two, each would get parts of it.
public sealed class FifoOut : IDisposable
{
	readonly Loop loop;
	readonly string path;
	readonly Action onGone;
	/// Made when there is something to send, and let go once all of a
	/// burst of more than Kept is written, so an idle map costs nothing.
	byte[] buf = [];
	const int Kept = 64 << 10;
	int head, tail;
	bool flushing;
	uint watching;
	int fd = -1;

	public FifoOut(Loop loop, string path, Action onGone)
	{
		this.loop = loop;
		this.path = path;
		this.onGone = onGone;
		Posix.Mkfifo(path, 0x180);
	}

	public bool Open => fd >= 0;

	/// Bytes sent but not yet written to the FIFO.
	public long Backlog => tail - head;

	/// Opens the FIFO if a reader waits; true when it did just now.
	public bool Probe()
	{
		if (fd >= 0)
			return false;
		int f = Posix.TryOpen(path, Posix.O_WRONLY | Posix.O_NONBLOCK);
		if (f < 0)
			return false;
		fd = f;
		watching = 0;
		loop.Add(fd, 0, Ready);
		return true;
	}

	/// Sends a message's header and, for write, the payload after it.
	public void Send(Msg m, ReadOnlySpan<byte> payload = default)
	{
		if (fd < 0)
			return;
		Make(Format.MaxHeader(m) + 1 + payload.Length);
		tail += Format.Header(m, buf.AsSpan(tail));
		Rest(payload);
	}

	/// Sends a line (a comment).
	public void Send(string line)
	{
		if (fd < 0)
			return;
		Make(Encoding.UTF8.GetByteCount(line) + 1);
		tail += Encoding.UTF8.GetBytes(line, buf.AsSpan(tail));
		Rest([]);
	}

	/// Room for n more bytes.
	void Make(int n)
	{
		if (tail + n > buf.Length)
			Grow(n);
	}

	/// Ends the line, adds the payload and has it all written soon.
	void Rest(ReadOnlySpan<byte> payload)
	{
		buf[tail++] = (byte)'\n';
		payload.CopyTo(buf.AsSpan(tail));
		tail += payload.Length;
		if (!flushing)
		{
			flushing = true;
			loop.Later(Flush);
		}
	}

	void Grow(int n)
	{
		int live = tail - head;
		var b = live + n > buf.Length ? new byte[Math.Max(Math.Max(buf.Length * 2, Kept), live + n)] : buf;
		Array.Copy(buf, head, b, 0, live);
		buf = b;
		head = 0;
		tail = live;
	}

	void Flush()
	{
		flushing = false;
		while (fd >= 0 && head < tail)
		{
			int w = Write(buf.AsSpan(head, tail - head));
			if (w < 0)
			{
				Want(Epoll.Out);
				return;
			}
			head += w;
		}
		head = tail = 0;
		if (buf.Length > Kept)
			buf = [];
		Want(0);
	}

	/// Changes what epoll watches for, only when it changes.
	void Want(uint events)
	{
		if (fd < 0 || events == watching)
			return;
		loop.Modify(fd, events);
		watching = events;
	}

	/// Writes one frame; -1 when the pipe is full. A reader that left
	/// closes the FIFO and tells the map.
	int Write(ReadOnlySpan<byte> frame)
	{
		try
		{
			return Posix.Write(fd, frame, path);
		}
		catch (SysException e) when (e.Errno == Errno.EPIPE)
		{
			Gone();
			return 0;
		}
	}

	void Ready(uint events)
	{
		if ((events & (Epoll.Err | Epoll.Hup)) != 0)
			Gone();
		else
			Flush();
	}

	/// The reader left. The FIFO is made afresh before pagerd's end is
	/// closed: a reader that opened it after the last one left, before
	/// pagerd saw that, reads the rest of this stream and then its end,
	/// as after a restart, and never the next pager's stream spliced onto
	/// a message cut short.
	void Gone()
	{
		try
		{
			Posix.Mkfifo(path, 0x180);
		}
		finally
		{
			loop.Remove(fd);
			Posix.Close(fd);
			fd = -1;
			head = tail = 0;
			onGone();
		}
	}

	public void Dispose()
	{
		// The name goes first, so a pager that sees the end finds it gone.
		Posix.Unlink(path);
		if (fd >= 0)
		{
			loop.Remove(fd);
			Posix.Close(fd);
		}
	}
}
