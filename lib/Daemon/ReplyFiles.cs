using Pager.Kernel;

namespace Pager.Daemon;

/// The files named in a map's `file` replies, kept open while the pager
/// writes (at most 64, then all are closed), read by pagerd with its own
/// rights. Only regular files are read: a FIFO or a device could block
/// the daemon in open(2) or read(2), and so could a file of pagerd's own
/// file view (PathGuard). The loop reads only files open already, and
/// only what the page cache has (ReadNow); a file not yet open, or bytes
/// that need the disk, are read on another thread (ReadSlow), which hands
/// the descriptor it opened to the loop to keep (Keep).
public sealed class ReplyFiles : IDisposable
{
	const int Max = 64;
	readonly Dictionary<string, int> open = [];

	/// All of buf from path at off, if the file is open and the page cache
	/// has the bytes; false, having waited for nothing, otherwise.
	public bool ReadNow(string path, Span<byte> buf, long off) =>
		buf.Length == 0 || open.TryGetValue(path, out int fd) && Posix.PReadNow(fd, buf, off);

	/// For a thread other than the loop's: reads into buf from path at
	/// off, bytes past the file's end left as they are (zero); returns the
	/// descriptor it opened.
	public static int ReadSlow(string path, Span<byte> buf, long off)
	{
		PathGuard.Check(path);
		int fd = Posix.OpenRegular(path, Posix.O_RDONLY);
		try
		{
			Posix.PRead(fd, buf, off, path);
			return fd;
		}
		catch
		{
			Posix.Close(fd);
			throw;
		}
	}

	/// On the loop's thread: fd, opened on path by ReadSlow, is kept for
	/// ReadNow unless path is open already.
	public void Keep(string path, int fd)
	{
		if (open.ContainsKey(path))
		{
			Posix.Close(fd);
			return;
		}
		if (open.Count >= Max)
			Dispose();
		open[path] = fd;
	}

	public void Dispose()
	{
		foreach (var fd in open.Values)
			Posix.Close(fd);
		open.Clear();
	}
}
