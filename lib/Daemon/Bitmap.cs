using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Pager.Daemon;

/// One bit a page: compact enough for a 64 GiB map (2 MiB of bits). Its
/// words are pagerd's own, or memory it was given (a mapping of a memfd
/// that outlives pagerd: PageState).
public sealed unsafe class Bitmap
{
	/// What the words are in when they are pagerd's own (pinned, so w
	/// stays put).
	readonly ulong[]? own;
	readonly ulong* w;

	public Bitmap(long bits)
	{
		own = GC.AllocateArray<ulong>((int)Words(bits), pinned: true);
		w = (ulong*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(own));
	}

	/// Over Words(bits) words at mem, which must outlive the bitmap.
	public Bitmap(ulong* mem) => w = mem;

	public static long Words(long bits) => Math.Max(1, (bits + 63) / 64);

	public bool this[long i]
	{
		get => (w[i >> 6] & 1UL << (int)(i & 63)) != 0;
		set
		{
			if (value)
				w[i >> 6] |= 1UL << (int)(i & 63);
			else
				w[i >> 6] &= ~(1UL << (int)(i & 63));
		}
	}

	/// Sets [from, to) to value, a word at a time between the ends.
	public void Set(long from, long to, bool value)
	{
		long i = from;
		for (; i < to && (i & 63) != 0; i++)
			this[i] = value;
		for (; i + 64 <= to; i += 64)
			w[i >> 6] = value ? ~0UL : 0;
		for (; i < to; i++)
			this[i] = value;
	}

	/// The first index in [from, to) whose bit is value, or to.
	public long Next(long from, long to, bool value)
	{
		long i = from;
		while (i < to)
		{
			ulong word = value ? w[i >> 6] : ~w[i >> 6];
			word >>= (int)(i & 63);
			if (word != 0)
				return Math.Min(to, i + BitOperations.TrailingZeroCount(word));
			i = (i | 63) + 1;
		}
		return to;
	}

	public bool All(long from, long to, bool value) => Next(from, to, !value) == to;

	/// How many bits of [from, to) are set.
	public long Popcount(long from, long to)
	{
		long n = 0;
		for (long i = from; i < to;)
		{
			long a = Next(i, to, true);
			long b = Next(a, to, false);
			n += b - a;
			i = b;
		}
		return n;
	}
}
