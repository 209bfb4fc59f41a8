using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Daemon;

/// Pages being assembled from `data` pieces smaller than a page, until
/// every byte of each has come. Bytes past the end of the map count as
/// given: they are zero.
public sealed class Pieces(long size)
{
	const int MaxPages = 4096;
	readonly Dictionary<long, Piece> pages = [];

	public bool Has(long p) => pages.ContainsKey(p);

	/// Adds bytes at s in page p; returns the page once it is whole.
	public byte[]? Add(long p, int s, ReadOnlySpan<byte> src)
	{
		if (!pages.TryGetValue(p, out var pc))
		{
			if (pages.Count >= MaxPages)
				throw new ProtocolException($"more than {MaxPages} pages are waiting for the rest of their data");
			pc = pages[p] = new Piece((int)Math.Min(Page.Size, size - p * Page.Size));
		}
		if (!pc.Add(s, src))
		{
			pages.Remove(p);
			throw new ProtocolException($"data overlaps data already given for page {p}");
		}
		if (!pc.Full)
			return null;
		pages.Remove(p);
		return pc.Bytes;
	}

	/// Drops every page cut short; returns their numbers.
	public List<long> Drop()
	{
		var cut = pages.Keys.ToList();
		pages.Clear();
		return cut;
	}

	/// A page being assembled.
	sealed class Piece(int limit)
	{
		public readonly byte[] Bytes = new byte[Page.Size];
		readonly List<(int S, int E)> have = [];
		int count;

		public bool Full => count >= limit;

		/// Adds bytes at s; false if they overlap bytes already here.
		public bool Add(int s, ReadOnlySpan<byte> src)
		{
			int e = s + src.Length;
			if (have.Any(h => s < h.E && h.S < e))
				return false;
			have.Add((s, e));
			src.CopyTo(Bytes.AsSpan(s));
			count += Math.Min(e, limit) - Math.Min(s, limit);
			return true;
		}
	}
}
