using Pager.Client;
using Xunit;

namespace Pager.Tests;

/// pagerd's read-ahead is a policy of windows aligned to their size, so a
/// scan asks once a window whichever way it goes: each test touches the
/// pages itself, in its own order, and counts the requests.
public sealed class ReadAheadTests : PagerdTest
{
	const int MapPages = 256, Window = 16;

	/// Touches one byte of each page, in the order given.
	static void Touch(Mapping m, IEnumerable<int> pages)
	{
		var b = new byte[1];
		foreach (var p in pages)
			m.Read((long)p * 4096, b);
	}

	List<(long Off, long Len)> Scan(IEnumerable<int> order)
	{
		d.Ctl($"new m {MapPages * 4096} readahead={Window * 4}k");
		using var p = new FifoPager(d, "m", r => [FifoPager.Line($"zero m {r.Off} {r.Len}")]);
		using var m = d.Attach("m");
		Touch(m, order);
		return [.. p.Seen.Select(r => (r.Off, r.Len))];
	}

	static void OneRequestAWindow(List<(long Off, long Len)> seen, int windows)
	{
		Assert.Equal(windows, seen.Count);
		Assert.All(seen, r => Assert.Equal((0L, Window * 4096L), (r.Off % (Window * 4096), r.Len)));
		Assert.Equal(seen.Count, seen.Distinct().Count());
	}

	[Fact]
	public void Forward() => OneRequestAWindow(Scan(Enumerable.Range(0, MapPages)), MapPages / Window);

	[Fact]
	public void Backward() => OneRequestAWindow(Scan(Enumerable.Range(0, MapPages).Reverse()), MapPages / Window);

	[Fact]
	public void StrideOfEightBothWays()
	{
		var up = Enumerable.Range(0, MapPages / 8).Select(i => i * 8);
		OneRequestAWindow(Scan(up.Concat(up.Reverse().Select(p => p + 7))), MapPages / Window);
	}

	/// In any order, each window is asked for once.
	[Fact]
	public void Shuffled()
	{
		var order = Enumerable.Range(0, MapPages).ToArray();
		new Random(3).Shuffle(order);
		OneRequestAWindow(Scan(order), MapPages / Window);
	}

	/// A window is cut to the pages nobody has: after a pager supplied
	/// pages unasked, the next request asks only for the rest.
	[Fact]
	public void WindowsSkipPagesAlreadyThere()
	{
		d.Ctl($"new m {MapPages * 4096} readahead=64k");
		// The first answer brings pages 4 to 7 of the second window as well.
		using var p = new FifoPager(d, "m", r => r.Off == 0
			? [FifoPager.Line($"zero m 0 65536"), FifoPager.Line($"zero m {65536 + 4 * 4096} 16384")]
			: [FifoPager.Line($"zero m {r.Off} {r.Len}")]);
		using var m = d.Attach("m");
		Touch(m, [0, 16, 31]);
		Assert.Equal([(0L, 65536L), (65536L, 16384L), (65536L + 8 * 4096, 8 * 4096L)], p.Seen.Select(r => (r.Off, r.Len)));
	}
}
