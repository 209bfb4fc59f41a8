using Pager.Kernel;

namespace Pager.Daemon;

/// A map's built-in source, served inside pagerd with no pager process:
/// file:PATH (from the map's offset) or zero.
sealed class Builtin : IDisposable
{
	readonly Options opt;
	int fd = -1, wfd = -1;
	string? openSource, writeSource;

	public Builtin(Options opt) => this.opt = opt;

	public bool Exists => opt.Source != "";

	/// Fills buf with the source's bytes at map offset off; bytes past the
	/// end of the file, or past the map's last byte (left), are zero.
	public void Read(long off, Span<byte> buf, long left)
	{
		int got = 0;
		if (opt.Source.StartsWith("file:", StringComparison.Ordinal))
		{
			// The source can change (set source=...): reopen when it does.
			if (fd < 0 || !ReferenceEquals(openSource, opt.Source))
			{
				Posix.Close(fd);
				fd = -1;
				ViewGuard.Check(opt.Source[5..]);
				fd = Posix.OpenRegular(opt.Source[5..], Posix.O_RDONLY);
				openSource = opt.Source;
			}
			int want = (int)Math.Clamp(left, 0, buf.Length);
			got = Posix.PRead(fd, buf[..want], opt.Offset + off, opt.Source);
		}
		buf[got..].Clear();
	}

	public bool Writable => opt.Source.StartsWith("file:", StringComparison.Ordinal);

	/// Writes the bytes at map offset off back to the file, those before
	/// the map's end (left) only; the file is opened for writing on the
	/// first write, so a read-only file still serves reads.
	public void Write(long off, ReadOnlySpan<byte> bytes, long left)
	{
		if (wfd < 0 || !ReferenceEquals(writeSource, opt.Source))
		{
			Posix.Close(wfd);
			wfd = -1;
			ViewGuard.Check(opt.Source[5..]);
			wfd = Posix.OpenRegular(opt.Source[5..], Posix.O_RDWR);
			writeSource = opt.Source;
		}
		Posix.PWrite(wfd, bytes[..(int)Math.Clamp(left, 0, bytes.Length)], opt.Offset + off, opt.Source);
	}

	public void Sync()
	{
		if (wfd >= 0)
			Posix.Fdatasync(wfd, opt.Source[5..]);
	}

	public void Dispose()
	{
		Posix.Close(fd);
		Posix.Close(wfd);
	}
}
