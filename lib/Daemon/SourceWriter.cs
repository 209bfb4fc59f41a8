using Pager.Kernel;

namespace Pager.Daemon;

/// The built-in source's write-back: its writes and barriers (pwrite,
/// fdatasync), made one after another in the order given on a pool
/// thread, each answered on the loop. A slow disk, or a file system that
/// does not answer, holds up this map's write-back only. The descriptor
/// written is the writer's alone, opened on the first write to a source
/// and closed after the last.
sealed class SourceWriter(Loop loop) : IDisposable
{
	Task chain = Task.CompletedTask;
	int fd = -1;        // touched on the chain only
	string? open;       // the source fd is open on

	/// Writes bytes (copied now) at map offset off of source, whose file
	/// starts at offset; done gets null or what failed, on the loop.
	public void Write(string source, long offset, long off, ReadOnlySpan<byte> bytes, Action<string?> done)
	{
		var copy = bytes.ToArray();
		Then(source, () =>
		{
			if (fd < 0 || open != source)
			{
				Posix.Close(fd);
				fd = -1;
				PathGuard.Check(source[5..]);
				fd = Posix.OpenRegular(source[5..], Posix.O_RDWR);
				open = source;
			}
			Posix.PWrite(fd, copy, offset + off, source);
		}, done);
	}

	/// Makes what was written so far durable.
	public void Sync(string source, Action<string?> done) =>
		Then(source, () =>
		{
			if (fd >= 0)
				Posix.Fdatasync(fd, open!);
		}, done);

	void Then(string source, Action io, Action<string?> done)
	{
		chain = chain.ContinueWith(_ =>
		{
			string? err = null;
			try
			{
				io();
			}
			catch (SysException e)
			{
				err = $"source {source}: {e.Message}";
			}
			loop.Post(() => done(err));
		}, TaskScheduler.Default);
	}

	/// Closes the descriptor once the writes before are made.
	public void Dispose() => chain = chain.ContinueWith(_ => Posix.Close(fd), TaskScheduler.Default);
}
