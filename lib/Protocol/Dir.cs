namespace Pager.Protocol;

/// Where pagerd's namespace lives, and the names in it; see pagerd(8).
public static class Dir
{
	/// $PAGERDIR, else $XDG_RUNTIME_DIR/pager, else /tmp/pager-$UID.
	public static string Root()
	{
		var d = Environment.GetEnvironmentVariable("PAGERDIR");
		if (!string.IsNullOrEmpty(d))
			return d;
		var x = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
		if (!string.IsNullOrEmpty(x))
			return Path.Combine(x, "pager");
		return $"/tmp/pager-{Kernel.Posix.Getuid()}";
	}

	public static string Socket(string root) => Path.Combine(root, "sock");
	public static string Ctl(string root) => Path.Combine(root, "ctl");
	/// Where the keeper of a pagerd's descriptors listens.
	public static string Keeper(string root) => Path.Combine(root, "keep");
	/// Where the file view is mounted unless pagerd is told otherwise.
	public static string Files(string root) => Path.Combine(root, "mnt");
	public static string Map(string root, string map) => Path.Combine(root, map);
	public static string Fault(string root, string map) => Path.Combine(root, map, "fault");
	public static string Fill(string root, string map) => Path.Combine(root, map, "fill");
	public static string MapCtl(string root, string map) => Path.Combine(root, map, "ctl");
	public static string Status(string root, string map) => Path.Combine(root, map, "status");
}
