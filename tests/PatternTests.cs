using System.Buffers.Binary;
using Pager.Sources;
using Xunit;

namespace Pager.Tests;

/// The pattern source's bytes.
public sealed class PatternTests
{
	[Fact]
	public void FillAgreesWithItselfAtAnyOffset()
	{
		var whole = new byte[3 * 4096];
		Pattern.Fill(0, whole);
		foreach (var (off, len) in new[] { (1, 7), (3, 4096), (4093, 10), (8, 8), (100, 5000) })
		{
			var part = new byte[len];
			Pattern.Fill(off, part);
			Assert.Equal(whole.AsSpan(off, len).ToArray(), part);
			Assert.Equal(whole[off + len / 2], Pattern.At(off + len / 2));
		}
	}

	[Fact]
	public void EveryWordDependsOnItsOffset()
	{
		var b = new byte[1 << 20];
		Pattern.Fill(1L << 40, b);
		var words = new HashSet<ulong>();
		for (int i = 0; i < b.Length; i += 8)
		{
			ulong w = BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(i));
			Assert.NotEqual(0UL, w);
			Assert.True(words.Add(w));
			Assert.Equal((1L << 40) + i, Pattern.Origin(w));
		}
	}

	[Fact]
	public void CheckFindsAMisplacedPage()
	{
		var b = new byte[4 * 4096];
		Pattern.Fill(0, b);
		Assert.Equal(-1, Pattern.Check(0, b));
		Pattern.Fill(7 * 4096, b.AsSpan(2 * 4096, 4096));
		// Its words differ from the right ones above the low byte.
		Assert.Equal(2 * 4096 + 1, Pattern.Check(0, b));
		Assert.Equal(7 * 4096, Pattern.Origin(BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(2 * 4096))));
		Assert.Equal(4096, Pattern.Check(4096, new byte[10]));
	}
}
