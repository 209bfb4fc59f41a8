using Pager.Daemon;
using Xunit;

namespace Pager.Tests;

/// A map's page state alone: no kernel, no daemon.
public sealed class PagesTests
{
	[Fact]
	public void FillAndDropKeepResident()
	{
		var p = new Pages(100);
		p.Ask(10, 20);
		Assert.True(p.Requested.All(10, 20, true));
		p.Filled(10, 15);
		p.Filled(12, 30); // 12..14 were there already
		Assert.Equal(20, p.Resident);
		Assert.True(p.Requested.All(10, 30, false));
		p.Dropped(0, 12);
		Assert.Equal(18, p.Resident);
		Assert.Equal(0, p.NextWanted(0, 100));
		Assert.Equal(30, p.NextWanted(12, 100));
	}

	[Fact]
	public void AskSkipsPresentPages()
	{
		var p = new Pages(8);
		p.Filled(2, 4);
		p.Ask(0, 8);
		Assert.Equal([true, true, false, false, true, true, true, true], Enumerable.Range(0, 8).Select(i => p.Requested[i]));
	}

	[Fact]
	public void DirtyOnlyWhatIsPresent()
	{
		var p = new Pages(16);
		Assert.False(p.MarkDirty(3)); // evicted, or never filled
		Assert.Equal(0, p.DirtyCount);
		p.Filled(0, 16);
		Assert.True(p.MarkDirty(3));
		Assert.True(p.MarkDirty(3));
		Assert.True(p.MarkDirty(4));
		Assert.Equal(2, p.DirtyCount);
		Assert.False(p.Clean(3));
		p.StartWrite(3, 5);
		Assert.Equal(0, p.DirtyCount);
		Assert.False(p.Clean(3)); // on its way back
		Assert.True(p.Clean(5));
		p.EndWrite(3, 5);
		Assert.True(p.Clean(3));
		p.Redirty(3, 5);
		Assert.Equal(2, p.DirtyCount);
		p.Redirty(2, 6);
		Assert.Equal(4, p.DirtyCount);
	}

	[Fact]
	public void PopcountAcrossWords()
	{
		var b = new Bitmap(300);
		b.Set(60, 130, true);
		b.Set(200, 201, true);
		Assert.Equal(71, b.Popcount(0, 300));
		Assert.Equal(10, b.Popcount(120, 199));
		Assert.Equal(1, b.Popcount(200, 300));
	}
}
