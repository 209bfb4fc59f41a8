using Pager.Kernel;

namespace Pager.Pagefill;

/// A descriptor read with read(2), for Reader.
sealed class FdStream(int fd, string what) : Stream
{
	public override int Read(byte[] buf, int off, int n) => Posix.Read(fd, buf.AsSpan(off, n), what);
	public override bool CanRead => true;
	public override bool CanSeek => false;
	public override bool CanWrite => false;
	public override long Length => throw new NotSupportedException();
	public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
	public override void Flush() { }
	public override long Seek(long o, SeekOrigin s) => throw new NotSupportedException();
	public override void SetLength(long v) => throw new NotSupportedException();
	public override void Write(byte[] b, int o, int n) => throw new NotSupportedException();
}
