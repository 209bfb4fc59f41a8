using Pager.Kernel;

namespace Pager.Daemon;

/// The part of a map's page state that must outlive pagerd: its
/// unwritten bitmap (Pages), in a memfd of its own that the keeper holds
/// (Keeper). pagerd writes it as it writes any memory, so keeping it
/// costs the fault path nothing; a pagerd started after a crash maps the
/// same memfd and finds every bit as it was left.
public sealed unsafe class PageState : IDisposable
{
	public readonly int Fd;
	public readonly Bitmap Unwritten;
	readonly ulong* mem;
	readonly long bytes;

	/// A new state for count pages, or the one in fd (kept by the keeper).
	public PageState(string name, long count, int fd = -1)
	{
		var what = "page state of map " + name;
		bytes = Page.Up(Bitmap.Words(count) * 8);
		Fd = fd >= 0 ? fd : Posix.MemfdCreate("pager-state:" + name);
		try
		{
			if (fd < 0)
				Posix.Ftruncate(Fd, bytes, what);
			else if (Posix.Fstat(Fd, what).Size < bytes)
				throw new SysException("fstat", Errno.EINVAL, $"{what} (smaller than the map needs)");
			mem = (ulong*)Posix.MapShared(Fd, bytes, true, 0, what);
		}
		catch
		{
			Posix.Close(Fd);
			throw;
		}
		Unwritten = new Bitmap(mem);
	}

	public void Dispose()
	{
		Posix.Munmap((byte*)mem, bytes);
		Posix.Close(Fd);
	}
}
