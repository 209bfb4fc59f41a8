using System.Runtime.InteropServices;
using Pager.Kernel;

namespace Pager.Daemon;

/// The one page-aligned buffer fills go through: UFFDIO_COPY wants an
/// aligned source, and pagerd fills from one thread. It holds one huge
/// page (Options.HugeSize), the least a fill of huge pages takes.
static unsafe class FillBuffer
{
	public const long Size = 2 << 20;
	public static readonly byte* Ptr = (byte*)NativeMemory.AlignedAlloc((nuint)Size, Page.Size);
	public static Span<byte> Span(long n) => new(Ptr, (int)n);
}
