using Pager.Kernel;

namespace Pager.Client;

/// A map's FIFO as a pager sees it across pagerd's restarts. A pagerd
/// that starts on a live namespace makes each FIFO afresh under the same
/// name, so the old one ends: its reader sees end of file, its writer
/// EPIPE. A pager that would go on opens the name again. The name gone
/// (the map removed, or pagerd gone for good) ends it.
public static class Fifo
{
	const int Tick = 100; // ms between looks at the name

	/// A descriptor for reading path once a pagerd writes to it, or -1
	/// when path is gone. It waits for data, not for an open, since
	/// the FIFO found there may be the dead pagerd's, which no one will
	/// write again.
	public static int AwaitWriter(string path)
	{
		int fd = -1;
		ulong ino = 0;
		try
		{
			for (;;)
			{
				if (Posix.TryLstat(path) is not { IsFifo: true } st)
					return -1;
				if (fd < 0 || st.Ino != ino)
				{
					int f = Posix.TryOpen(path, Posix.O_RDONLY | Posix.O_NONBLOCK);
					if (f < 0)
					{
						Thread.Sleep(Tick);
						continue;
					}
					Posix.Close(fd);
					(fd, ino) = (f, Posix.Fstat(f, path).Ino);
				}
				short ev = Posix.PollEvents(fd, Posix.POLLIN, Tick);
				if ((ev & Posix.POLLIN) != 0)
				{
					Posix.SetNonblock(fd, false);
					int got = fd;
					fd = -1;
					return got;
				}
				if ((ev & Posix.POLLHUP) != 0) // a writer came and went: listen afresh
				{
					Posix.Close(fd);
					fd = -1;
				}
			}
		}
		finally
		{
			Posix.Close(fd);
		}
	}

	/// A descriptor for writing path once a pagerd reads it, or -1 when
	/// path is gone.
	public static int AwaitReader(string path)
	{
		for (;;)
		{
			if (Posix.TryLstat(path) is not { IsFifo: true })
				return -1;
			int fd = Posix.TryOpen(path, Posix.O_WRONLY | Posix.O_NONBLOCK);
			if (fd >= 0)
			{
				Posix.SetNonblock(fd, false);
				return fd;
			}
			Thread.Sleep(Tick); // ENXIO: no reader yet
		}
	}

	/// The FIFO fd was opened from, if it was one: where to look for the
	/// next one when it ends.
	public static string? PathOf(int fd)
	{
		string link;
		try
		{
			if (!Posix.Fstat(fd, $"descriptor {fd}").IsFifo)
				return null;
			link = Posix.Readlink($"/proc/self/fd/{fd}");
		}
		catch (SysException)
		{
			return null;
		}
		const string deleted = " (deleted)";
		if (link.EndsWith(deleted))
			link = link[..^deleted.Length];
		return link.StartsWith('/') ? link : null; // pipe:[…] is not a FIFO with a name
	}
}
