using Pager.Client;
using Xunit;

namespace Pager.Tests;

/// Maps of 2 MiB huge pages (hugepages=2m): one fault, one request and
/// one fill a huge page, from the built-in source or a pager; written
/// back and evicted a huge page at a time. The pool is reserved for the
/// tests (HugePool) and given back after; where it cannot be, the tests are skipped, saying why.
public sealed class HugePageTests : PagerdTest, IClassFixture<HugePool>
{
	const long H = 2 << 20;

	[HugePagesFact]
	public void SequentialReadIsOneFaultAHugePage()
	{
		var f = RandomFile(4 * H);
		New("m", 4 * H, $"source=file:{f}", "hugepages=2m");
		Assert.Equal("2m", d.Get("m", "pagesize"));
		Assert.Equal(4, d.Stat("m", "hugepages.needed"));
		using var m = d.Attach("m");
		var b = new byte[4 * H];
		m.Read(0, b);
		Assert.Equal(File.ReadAllBytes(f), b);
		Assert.Equal(4, d.Stat("m", "faults"));
		Assert.Equal(4, d.Stat("m", "requests"));
		Assert.Equal(4, d.Stat("m", "fills"));
	}

	/// The last huge page reaches past the map's size: the pager is asked
	/// for all of it, and the bytes past the end of the file read as zeros.
	[HugePagesFact]
	public void PipelineServesWholeHugePages()
	{
		long size = 3 * H + 4096;
		var f = PipelineMap("m", size, "hugepages=2m");
		using var m = d.Attach("m");
		var b = new byte[size];
		m.Read(0, b);
		Assert.Equal(File.ReadAllBytes(f), b);
		Assert.Equal(4, d.Stat("m", "hugepages.needed"));
		Assert.Equal(4, d.Stat("m", "requests"));
	}

	/// A write dirties its whole huge page, which goes back whole; the
	/// bytes beside the written one come back as they were.
	[HugePagesFact]
	public void WritesGoBackAHugePageAtATime()
	{
		var f = RandomFile(2 * H, 2);
		var want = File.ReadAllBytes(f);
		New("m", 2 * H, $"source=file:{f}", "hugepages=2m");
		using (var m = d.Attach("m"))
		{
			m.Write(H + 5, [0xAB]);
			Assert.Equal(512, d.Stat("m", "dirty"));
			m.Sync();
		}
		want[H + 5] = 0xAB;
		Assert.Equal(want, File.ReadAllBytes(f));
		Assert.Equal(0, d.Stat("m", "dirty"));
	}

	/// After kill -9, the next pagerd finds which huge pages the memory
	/// holds, and the one written and not yet synced is still dirty.
	[HugePagesFact]
	public void RestartFindsTheHugePagesHeld()
	{
		var f = RandomFile(4 * H, 4);
		var want = File.ReadAllBytes(f);
		New("m", 4 * H, $"source=file:{f}", "hugepages=2m");
		using (var m = d.Attach("m"))
		{
			var b = new byte[4096];
			m.Read(0, b);
			m.Write(2 * H, [0xCD]);
			d.Kill();
		}
		d.Restart();
		Cmd.WaitFor(() => d.Log.Contains("map m: recovered, 1024 pages resident, 512 unwritten"), "the recovery in the log");
		want[2 * H] = 0xCD;
		Assert.Equal(want, Cat("m"));
	}

	/// maxresident keeps a huge-page map within its bound by dropping
	/// whole huge pages, and they come back with the same bytes.
	[HugePagesFact]
	public void EvictionDropsWholeHugePages()
	{
		var f = RandomFile(8 * H, 3);
		New("m", 8 * H, $"source=file:{f}", "hugepages=2m", "maxresident=4m");
		using var m = d.Attach("m");
		var b = new byte[8 * H];
		for (int pass = 0; pass < 2; pass++)
		{
			m.Read(0, b);
			Assert.Equal(File.ReadAllBytes(f), b);
		}
		Assert.True(d.Stat("m", "resident") * 4096 <= 4 * H);
		Assert.Equal(0, d.Stat("m", "evicted") % 512);
		Assert.True(d.Stat("m", "evicted") > 0);
	}

	/// A reply for part of a huge page is refused, naming the range, and
	/// the thread waits on for the whole page.
	[HugePagesFact]
	public void PartOfAHugePageIsRefused()
	{
		New("m", 2 * H, "hugepages=2m");
		using var p = Keep(new FifoPager(d, "m", r => [FifoPager.Line($"zero m {r.Off} 4096"), FifoPager.Line($"zero m {r.Off} {r.Len}")]));
		using var m = d.Attach("m");
		var b = new byte[4096];
		m.Read(8192, b);
		Assert.Equal(new byte[4096], b);
		Assert.Contains(Mapctl("err", "m").Text.Split('\n'), l => l.Contains("range 0 4096 of map m is not whole huge pages of 2m"));
	}

	/// A map the pool cannot hold is refused when it is made, saying how
	/// many huge pages it needs.
	[HugePagesFact]
	public void TooBigForThePoolIsRefused()
	{
		long n = HugePool.FreeNow() + 1;
		var r = Mapctl("new", "m", $"{n * H}", "hugepages=2m");
		Assert.NotEqual(0, r.Code);
		Assert.Contains($"needs {n} huge pages of 2 MiB", r.Err);
		Assert.Contains("vm.nr_hugepages", r.Err);
	}

	[Fact]
	public void OnlyTwoMegabytesOrNone()
	{
		var r = Mapctl("new", "m", "4096", "hugepages=1g");
		Assert.Contains("bad hugepages '1g': want 2m or none", r.Err);
	}
}
