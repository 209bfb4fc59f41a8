using System.Buffers.Binary;
using System.Net.Sockets;
using Pager.Kernel;

namespace Pager.NineP;

/// A failed 9P operation: the errno, from Rlerror or from the network,
/// and a message in the Plan 9 style: "9p tcp!HOST!PORT: connection refused".
public sealed class NinePException(string message, int errno) : IOException(message)
{
	public int Errno { get; } = errno;
}
