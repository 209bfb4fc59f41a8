using Pager.Kernel;

namespace Pager.Bench;

/// The writing end of one of pagerd's FIFOs (fill, ctl), opened when
/// first written and closed to make pagerd see its last writer go. A
/// write that pagerd does not take in time is a hang.
sealed class FuzzFifo(string path) : IDisposable
{
	int fd = -1;

	/// Writes all of b, in pieces of any size; false if pagerd took
	/// nothing for 5 s. A FIFO gone (its map removed) takes nothing.
	public bool Write(byte[] b, Random r)
	{
		for (int done = 0; done < b.Length;)
		{
			// Its map removed by a hostile line: nothing to write to.
			if (fd < 0 && (fd = Posix.TryOpen(path, Posix.O_WRONLY | Posix.O_NONBLOCK)) < 0)
			{
				fd = -1;
				return true;
			}
			int n = Math.Min(b.Length - done, r.Next(2) == 0 ? b.Length : r.Next(1, 8192));
			int w;
			try
			{
				w = Posix.Write(fd, b.AsSpan(done, n), path);
			}
			catch (SysException e) when (e.Errno == Errno.EPIPE)
			{
				Close();
				return true;
			}
			if (w < 0)
			{
				if (!Posix.Poll(fd, Posix.POLLOUT, 5000))
					return false;
				continue;
			}
			done += w;
		}
		return true;
	}

	public void Close()
	{
		Posix.Close(fd);
		fd = -1;
	}

	public void Dispose() => Close();
}
