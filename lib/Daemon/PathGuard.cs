using Pager.Kernel;

namespace Pager.Daemon;

/// The paths pagerd will not open for a source=file: or a file reply,
/// directly or through a symbolic link: its own file view, which pagerd's
/// own loop would have to serve while it waits in the open (the daemon
/// would hang), and /proc, whose regular-looking files include processes'
/// memory (/proc/self/mem is pagerd's own). Paths are resolved a component
/// at a time, and a component is looked at only while the path so far is
/// outside the view, so the check never asks the view.
public static class PathGuard
{
	/// The file view's mount point, resolved; null while there is none.
	static string? view;

	/// Called before the view is mounted, when resolving dir is still safe.
	public static void Mounting(string? dir) => view = dir is null ? null : Resolve(dir);

	/// Throws, with EDEADLK, if path is in the file view; with EACCES if
	/// it is in /proc.
	public static void Check(string path)
	{
		var r = Resolve(path);
		if (Inside(r))
			throw new SysException("open", Errno.EDEADLK, $"{path} (it is in pagerd's own file view, {view})");
		if (r == "/proc" || r.StartsWith("/proc/", StringComparison.Ordinal))
			throw new SysException("open", Errno.EACCES, $"{path} (pagerd reads no file of /proc)");
	}

	static bool Inside(string p) => view is not null && (p == view || p.StartsWith(view + "/", StringComparison.Ordinal));

	/// path with every symbolic link and . and .. taken out; a component
	/// that does not exist is kept as it is (the open will fail on it).
	static string Resolve(string path)
	{
		// Not Path.GetFullPath: it takes out "link/.." as text, where the
		// kernel goes to the parent of the link's target.
		var todo = new List<string>(Parts(path.StartsWith('/') ? path : Environment.CurrentDirectory + "/" + path));
		string at = "";
		for (int links = 0; todo.Count > 0 && !Inside(at == "" ? "/" : at);)
		{
			var c = todo[0];
			todo.RemoveAt(0);
			if (c == "..")
			{
				at = at[..Math.Max(0, at.LastIndexOf('/'))];
				continue;
			}
			var next = at + "/" + c;
			if (Inside(next))
			{
				at = next; // not looked at: that would ask the view
				continue;
			}
			Posix.FileInfo st;
			try
			{
				st = Posix.Lstat(next);
			}
			catch (SysException)
			{
				at = next;
				continue;
			}
			if (!st.IsLink)
			{
				at = next;
				continue;
			}
			if (++links > 40)
				throw new SysException("open", Errno.ELOOP, path);
			var target = Posix.Readlink(next);
			if (target.StartsWith('/'))
				at = "";
			todo.InsertRange(0, Parts(target));
		}
		return at == "" ? "/" : string.Join("/", [at, .. todo]);
	}

	static string[] Parts(string p) => p.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(c => c != ".").ToArray();
}
