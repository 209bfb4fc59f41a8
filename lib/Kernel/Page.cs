namespace Pager.Kernel;

/// The page: the unit userfaultfd faults and fills, the one place its
/// size is written down (x86_64's base page; huge pages are a map option).
public static class Page
{
	public const int Size = 4096;

	/// off rounded down, and up, to a page boundary.
	public static long Down(long off) => off & ~(long)(Size - 1);
	public static long Up(long off) => (off + Size - 1) & ~(long)(Size - 1);

	public static bool Aligned(long off) => (off & (Size - 1)) == 0;
}
