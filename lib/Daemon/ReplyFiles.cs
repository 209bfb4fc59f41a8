using Pager.Kernel;

namespace Pager.Daemon;

/// The files named in a map's `file` replies, kept open while the pager
/// writes (at most 64, then all are closed), read by pagerd with its own
/// rights. Only regular files are read: a FIFO or a device could block
/// the daemon in open(2) or read(2), and so could a file of pagerd's own
/// file view (PathGuard).
public sealed class ReplyFiles : IDisposable
{
	const int Max = 64;
	readonly Dictionary<string, int> open = [];

	/// Reads into buf from path at off; bytes past the file's end are zero.
	public void Read(string path, Span<byte> buf, long off)
	{
		int got = Posix.PRead(Open(path), buf, off, path);
		buf[got..].Clear();
	}

	int Open(string path)
	{
		if (open.TryGetValue(path, out int fd))
			return fd;
		if (open.Count >= Max)
			Dispose();
		PathGuard.Check(path);
		fd = Posix.OpenRegular(path, Posix.O_RDONLY);
		open[path] = fd;
		return fd;
	}

	public void Dispose()
	{
		foreach (var fd in open.Values)
			Posix.Close(fd);
		open.Clear();
	}
}
