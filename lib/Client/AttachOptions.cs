using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Client;

public sealed record AttachOptions
{
	public bool ReadOnly { get; init; }
	/// Where to map; 0 lets the kernel choose.
	public ulong Address { get; init; }
	/// How long faults wait for a pagerd that went away before they fail
	/// with SIGBUS. Default: $PAGER_GRACE, else 10s.
	public TimeSpan? Grace { get; init; }
	/// The namespace; default Dir.Root().
	public string? Root { get; init; }
}
