using Pager.Kernel;

namespace Pager.Daemon;

/// pagerd's descriptors against its limit (ulimit -n). At the limit not
/// only would a map, a client or a connection fail: the .NET runtime needs
/// descriptors of its own (for code it compiles) and dies without one. So
/// pagerd keeps a reserve free: new maps stop short of all of it, and
/// connections and clients, which are needed to remove maps, of half.
public static class Descriptors
{
	/// Read each time: prlimit(1) can change it while pagerd runs.
	public static long Limit => Posix.DescriptorLimit();

	/// Why a new map, which takes need descriptors, is refused, or null.
	public static string? ShortForMap(int need, string what) => Short(need, what, 1);

	/// Why a connection or a client is refused, or null.
	public static string? ShortForPeer(string what) => Short(0, what, 2);

	static string? Short(int need, string what, int part)
	{
		long limit = Limit, open = Posix.OpenDescriptors(), reserve = Math.Min(512, limit / 8) / part;
		return open + need <= limit - reserve ? null
			: $"{what}: pagerd has {open} of its {limit} descriptors open (ulimit -n) and keeps {reserve} free; remove maps or raise the limit";
	}
}
