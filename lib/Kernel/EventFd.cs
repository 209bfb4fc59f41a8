using Tmds.Linux;

namespace Pager.Kernel;

/// An eventfd(2): a counter one thread, or a signal handler, bumps to
/// wake a loop that waits on it in epoll.
public sealed unsafe class EventFd : IDisposable
{
	public readonly int Fd = Sys.Check(LibC.eventfd(0, LibC.EFD_CLOEXEC | LibC.EFD_NONBLOCK), "eventfd");

	/// Safe from any thread or signal handler: a write that fails (the
	/// counter is full) leaves it readable, which is all it is for.
	public void Signal()
	{
		ulong one = 1;
		LibC.write(Fd, &one, sizeof(ulong));
	}

	/// Empties the counter.
	public void Drain()
	{
		ulong v;
		if (LibC.read(Fd, &v, sizeof(ulong)) < 0 && Sys.Errno is int err && err != Errno.EAGAIN)
			throw new SysException("read", err, "eventfd");
	}

	public void Dispose() => LibC.close(Fd);
}
