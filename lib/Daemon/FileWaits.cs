namespace Pager.Daemon;

/// The file view's reads and writes waiting for pages of one map. There
/// are few at a time (the kernel sends a file's reads a window at a
/// time), so a list does.
public sealed class FileWaits
{
	readonly List<FileWait> waits = [];

	public int Count => waits.Count;

	public void Add(FileWait w) => waits.Add(w);

	/// Removes and returns those that touch pages of [a, b).
	public FileWait[] Take(long a, long b)
	{
		if (waits.Count == 0)
			return [];
		var taken = waits.Where(w => w.First < b && w.End > a).ToArray();
		waits.RemoveAll(taken.Contains);
		return taken;
	}

	/// Removes and returns those waiting since before limit.
	public List<FileWait> Older(long limit)
	{
		var taken = waits.Where(w => w.Since < limit).ToList();
		waits.RemoveAll(taken.Contains);
		return taken;
	}
}
