using System.Text;

namespace Pager.Bench;

/// Makes hostile input out of valid input, as a fuzzer's mutator does,
/// but small enough to read: a line is cut into words and a few words are
/// replaced by numbers that sit on boundaries, by words of the protocol
/// in the wrong place, by quotes and junk; bytes are flipped, cut,
/// repeated and spliced. Everything comes from the Random it is given, so
/// a seed gives the same inputs again.
sealed class Mutator(Random r)
{
	public static readonly string[] Numbers =
	[
		"0", "1", "-1", "4095", "4096", "4097", "8192", "65536", "262144", "262143", "266240", "1048576",
		"0x", "0x1000", "0X1000", "0x7fffffffffffffff", "0xffffffffffffffff", "0x8000000000000000",
		"9223372036854775807", "9223372036854775808", "9223372036854771712", "18446744073709551616",
		"2147483647", "2147483648", "4294967295", "4294967296", "67108864", "67108865", "1e3", "+4096",
		"00004096", "4k", "64k", "1g", "4t", "5t", "999999t", "٤٠٩٦", "4096 ", "0x-1",
	];

	public static readonly string[] Junk =
	[
		"", "'", "''", "'a b'", "'''", "=", "a=", "=b", "==", "k=v", "k=v=w", "\t", "\r", "#", "# x",
		"\u00e9", "\u0000", "x\u0001y", "\ufffd", "\ud800", "..", "/", "a/b", "ctl", "sock", "nosuch",
		"read", "data", "file", "zero", "error", "punt", "write", "sync", "ok", "fail", "synced", "evict",
		"new", "rm", "set", "ls", "stat", "prefetch", "attach", "uffd", "detach", "force", "mode=ro", "mode=rw",
		"mode=xx", "base=0", "base=0x1000", "size=0", "t=-1", "tid=1", "err=x",
	];

	public int Next(int n) => r.Next(n);
	public bool Chance(int oneIn) => r.Next(oneIn) == 0;
	public T Pick<T>(IReadOnlyList<T> xs) => xs[r.Next(xs.Count)];
	public string Number() => Chance(4) ? r.NextInt64(0, 1L << 20).ToString() : Pick(Numbers);

	/// A mutant of a line: one to three changes of its words.
	public string Line(string valid)
	{
		var w = valid.Split(' ').ToList();
		for (int k = r.Next(1, 4); k > 0; k--)
		{
			int i = r.Next(w.Count);
			switch (r.Next(10))
			{
			case 0: w[i] = Number(); break;
			case 1: w[i] = Pick(Junk); break;
			case 2: if (w.Count > 1) w.RemoveAt(i); break;
			case 3: w.Insert(i, Chance(2) ? Number() : Pick(Junk)); break;
			case 4: w[i] = w[i] + Pick(Junk); break;
			case 5: w.Insert(i, w[i]); break;
			case 6: w[i] = w[i].Length > 1 ? w[i][..r.Next(w[i].Length)] : w[i]; break;
			case 7: w[i] = new string('9', r.Next(1, 40)); break;
			case 8: w.Add(Pick(Junk) + "=" + Number()); break;
			default: w[i] = Flip(w[i]); break;
			}
		}
		var s = string.Join(Chance(8) ? "\t" : " ", w);
		if (Chance(50))
			s += " " + new string('x', r.Next(4000, 5000)); // longer than a line may be
		return s;
	}

	/// A word with one character changed.
	string Flip(string s)
	{
		if (s.Length == 0)
			return ((char)r.Next(1, 128)).ToString();
		var c = s.ToCharArray();
		c[r.Next(c.Length)] = (char)r.Next(1, 256);
		return new string(c);
	}

	/// A mutant of a byte stream: one to four changes.
	public byte[] Bytes(byte[] valid)
	{
		var b = valid.ToList();
		for (int k = r.Next(1, 5); k > 0; k--)
		{
			int i = b.Count == 0 ? 0 : r.Next(b.Count);
			switch (r.Next(8))
			{
			case 0: if (b.Count > 0) b[i] ^= (byte)(1 << r.Next(8)); break;
			case 1: if (b.Count > 0) b[i] = (byte)r.Next(256); break;
			case 2: b.Insert(i, (byte)'\n'); break;
			case 3: if (b.Count > 0) b.RemoveRange(i, Math.Min(b.Count - i, r.Next(1, 64))); break;
			case 4: b.InsertRange(i, Random(r.Next(1, 64))); break;
			case 5: b.InsertRange(i, b.Skip(i).Take(r.Next(1, 128)).ToList()); break;
			case 6: b.RemoveRange(i, b.Count - i); break; // cut short
			default: b.InsertRange(i, Encoding.UTF8.GetBytes(Pick(Junk))); break;
			}
		}
		return [.. b];
	}

	public byte[] Random(int n)
	{
		var b = new byte[n];
		r.NextBytes(b);
		return b;
	}
}
