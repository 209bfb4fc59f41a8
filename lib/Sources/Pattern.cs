using System.Buffers.Binary;

namespace Pager.Sources;

/// The pattern source's bytes: the little-endian 64-bit word at each
/// 8-byte aligned offset a is a ^ Key. Every word differs from every other
/// and from zero, so a page put at the wrong offset, a torn copy or a
/// zero-filled page is caught, and Origin tells where a word belongs.
public static class Pattern
{
	public const ulong Key = 0x9e3779b97f4a7c15;

	/// Fills dst with the pattern's bytes from absolute offset off on.
	public static void Fill(long off, Span<byte> dst)
	{
		int i = 0;
		// Head: bytes before the first aligned word.
		for (; i < dst.Length && ((off + i) & 7) != 0; i++)
			dst[i] = At(off + i);
		for (; i + 8 <= dst.Length; i += 8)
			BinaryPrimitives.WriteUInt64LittleEndian(dst[i..], (ulong)(off + i) ^ Key);
		for (; i < dst.Length; i++)
			dst[i] = At(off + i);
	}

	/// The pattern's byte at offset p.
	public static byte At(long p) => (byte)(((ulong)(p & ~7L) ^ Key) >> (int)(8 * (p & 7)));

	/// The offset of the first byte of got that is not the pattern's byte
	/// for off + its index, or -1 when all are right.
	public static long Check(long off, ReadOnlySpan<byte> got)
	{
		Span<byte> want = stackalloc byte[4096];
		for (int i = 0; i < got.Length; i += want.Length)
		{
			var g = got.Slice(i, Math.Min(want.Length, got.Length - i));
			Fill(off + i, want[..g.Length]);
			int bad = g.SequenceEqual(want[..g.Length]) ? -1 : g.CommonPrefixLength(want[..g.Length]);
			if (bad >= 0)
				return off + i + bad;
		}
		return -1;
	}

	/// The offset a pattern word belongs at: for finding where a
	/// misplaced page came from.
	public static long Origin(ulong word) => (long)(word ^ Key);
}
