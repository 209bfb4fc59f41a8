using Pager.Kernel;

namespace Pager.Daemon;

/// A map's built-in source, served inside pagerd with no pager process:
/// file:PATH (from the map's offset) or zero. A read the page cache can
/// answer is made on the loop's thread (ReadNow); the others, which could
/// wait for a disk or for a file system that never answers, on a thread of
/// their own (ReadSlow), which opens the file for itself and hands the
/// descriptor back for the loop to keep (Keep). So the descriptor the
/// loop reads is the loop's alone, and the loop never waits on a source.
sealed class Builtin : IDisposable
{
	readonly Options opt;
	int fd = -1;
	string? openSource;
	bool disposed;

	public Builtin(Options opt) => this.opt = opt;

	public bool Exists => opt.Source != "";

	bool IsFile => opt.Source.StartsWith("file:", StringComparison.Ordinal);

	/// Fills buf with the source's bytes at map offset off if that needs no
	/// wait: a zero source, or a file open already whose bytes are all in
	/// the page cache; bytes past the map's last byte (left) are zero.
	public bool ReadNow(long off, Span<byte> buf, long left)
	{
		if (!IsFile)
		{
			buf.Clear();
			return true;
		}
		int want = (int)Math.Clamp(left, 0, buf.Length);
		if (fd < 0 || !ReferenceEquals(openSource, opt.Source) || !Posix.PReadNow(fd, buf[..want], opt.Offset + off))
			return false;
		buf[want..].Clear();
		return true;
	}

	/// The same for a thread other than the loop's, waiting as long as the
	/// source takes, from the source and offset the map had when the read
	/// was asked; bytes past the end of the file are zero. Returns the
	/// descriptor it opened, for Keep.
	public static int ReadSlow(string source, long offset, long off, Span<byte> buf, long left)
	{
		PathGuard.Check(source[5..]);
		int f = Posix.OpenRegular(source[5..], Posix.O_RDONLY);
		try
		{
			int got = Posix.PRead(f, buf[..(int)Math.Clamp(left, 0, buf.Length)], offset + off, source);
			buf[got..].Clear();
			return f;
		}
		catch
		{
			Posix.Close(f);
			throw;
		}
	}

	/// On the loop's thread: f, opened on source by ReadSlow, becomes the
	/// descriptor ReadNow reads if source is still the map's and none is
	/// open for it; else it is closed.
	public void Keep(int f, string source)
	{
		if (disposed || !ReferenceEquals(source, opt.Source) || (fd >= 0 && ReferenceEquals(openSource, opt.Source)))
		{
			Posix.Close(f);
			return;
		}
		Posix.Close(fd);
		fd = f;
		openSource = source;
	}

	/// Whether write-back can go to the source (SourceWriter writes it).
	public bool Writable => IsFile;

	public void Dispose()
	{
		disposed = true;
		Posix.Close(fd);
		fd = -1;
	}
}
