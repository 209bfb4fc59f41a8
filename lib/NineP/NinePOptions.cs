using Pager.Kernel;

namespace Pager.NineP;

/// How a RemoteFile talks to its server.
public sealed record NinePOptions
{
	/// The smallest msize worth having: room for a walk of a deep path.
	public const int MinMsize = 4096;
	/// The largest message asked for in Tversion; the server may offer less.
	public int Msize { get; init; } = (256 << 10) + Fcall.IoHdr;
	/// Bounds the connect and each reply, so a dead server cannot hang a caller.
	public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
	/// Open O_RDONLY rather than O_RDWR.
	public bool ReadOnly { get; init; }
}
