namespace Pager.Bench;

/// Counts the FUSE read requests the kernel sends one mount while a
/// program runs: perf stat of the fuse:fuse_request_send tracepoint,
/// filtered to FUSE_READ on the mount's connection, so that no other FUSE
/// file system of the machine is counted. System-wide (-a), not of the
/// reader alone: a read-ahead request queued behind others is sent from
/// whichever process ends one, which is pagerd.
sealed class FuseCounter
{
	/// FUSE_READ in <linux/fuse.h>.
	const int FuseRead = 15;
	readonly string filter;

	FuseCounter(long connection) => filter = $"opcode == {FuseRead} && connection == {connection}";

	/// The counter for the FUSE file system mounted on dir; null, with the
	/// reason on standard error, when dir is no FUSE mount or perf cannot
	/// count the tracepoint here.
	public static FuseCounter? For(string dir)
	{
		if (Connection(dir) is not { } conn)
		{
			Console.Error.WriteLine($"bench: {dir} is not a FUSE mount: no FUSE request counts");
			return null;
		}
		var c = new FuseCounter(conn);
		var probe = Path.Combine(Path.GetTempPath(), $"pager-bench-fuse-{Environment.ProcessId}");
		try
		{
			var argv = c.Prefix(probe);
			Proc.Run(argv[0], [.. argv[1..], "true"]);
			c.Read(probe);
			return c;
		}
		catch (Exception e) when (e is BenchException or FormatException or IOException or System.ComponentModel.Win32Exception)
		{
			Console.Error.WriteLine($"bench: perf cannot count FUSE requests ({e.Message.Trim()}): no per-request figures for the file view");
			return null;
		}
		finally
		{
			File.Delete(probe);
		}
	}

	/// The command line to put before the program; the count goes to output.
	public string[] Prefix(string output) =>
		["perf", "stat", "-x,", "-o", output, "-e", "fuse:fuse_request_send", "--filter", filter, "-a", "--"];

	/// The count perf wrote: "N,,fuse:fuse_request_send,...".
	public long Read(string output)
	{
		foreach (var l in File.ReadLines(output))
			if (l.Contains("fuse:fuse_request_send"))
				return long.Parse(l.Split(',')[0]);
		throw new FormatException($"no count in {output}");
	}

	/// The connection a FUSE request names is the mount's device number as
	/// the kernel keeps it, major << 20 | minor: from /proc/self/mountinfo,
	/// whose third field is major:minor and fifth the mount point.
	public static long? Connection(string dir)
	{
		dir = Path.GetFullPath(dir);
		foreach (var l in File.ReadLines("/proc/self/mountinfo"))
		{
			var f = l.Split(' ');
			int dash = Array.IndexOf(f, "-");
			if (f.Length < 5 || f[4] != dir || dash < 0 || dash + 1 >= f.Length || !f[dash + 1].StartsWith("fuse"))
				continue;
			var mm = f[2].Split(':');
			return long.Parse(mm[0]) << 20 | long.Parse(mm[1]);
		}
		return null;
	}
}
