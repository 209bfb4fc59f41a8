using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Tests;

/// Temporary directories for one test, removed after it.
public abstract class Scratch : IDisposable
{
	readonly List<string> dirs = [];

	/// A new directory, in parent if given, else in the system's.
	protected string TempDir(string? parent = null)
	{
		var d = parent is null
			? Directory.CreateTempSubdirectory("pager-tools-").FullName
			: Directory.CreateDirectory(Path.Combine(parent, $"pager-tools-{Guid.NewGuid():N}")).FullName;
		dirs.Add(d);
		return d;
	}

	/// A $PAGERDIR holding map with its two FIFOs.
	protected string PagerDir(string map)
	{
		var root = TempDir();
		Directory.CreateDirectory(Dir.Map(root, map));
		Posix.Mkfifo(Dir.Fault(root, map), 0x1b6);
		Posix.Mkfifo(Dir.Fill(root, map), 0x1b6);
		return root;
	}

	public void Dispose()
	{
		foreach (var d in dirs)
			Directory.Delete(d, true);
		GC.SuppressFinalize(this);
	}
}
