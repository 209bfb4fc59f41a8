using Xunit;

namespace Pager.Tests;

/// Maps larger than the memory they are given.
public sealed class EvictTests : PagerdTest
{
	[Fact]
	public void MaxResidentBoundsMemoryAndKeepsContent()
	{
		long size = 8 << 20, max = 1 << 20;
		var src = RandomFile(size);
		var want = File.ReadAllBytes(src);
		d.Ctl($"new m {size} source=file:{src} maxresident={max}");
		using var m = d.Attach("m");
		var chunk = new byte[256 << 10];
		for (int pass = 0; pass < 2; pass++)
			for (long off = 0; off < size; off += chunk.Length)
			{
				m.Read(off, chunk);
				Assert.True(want.AsSpan((int)off, chunk.Length).SequenceEqual(chunk), $"pass {pass}: bytes differ at {off}");
				Assert.True(d.Stat("m", "resident") * 4096 <= max, $"resident {d.Stat("m", "resident")} pages over the bound at {off}");
			}
		Assert.True(d.Stat("m", "evicted") >= 2 * (size - max) / 4096 - 256);
		Assert.True(d.Stat("m", "faults") >= 2 * size / 4096 - 256);
	}

	[Fact]
	public void DirtyPagesAreWrittenBackBeforeEviction()
	{
		long size = 4 << 20, max = 256 << 10;
		var src = RandomFile(size);
		var want = File.ReadAllBytes(src);
		d.Ctl($"new m {size} source=file:{src} maxresident={max}");
		using var m = d.Attach("m");
		var rnd = new Random(9);
		var x = new byte[100];
		for (long off = 0; off < size; off += 64 << 10)
		{
			rnd.NextBytes(x);
			m.Write(off + 10, x);
			x.CopyTo(want, off + 10);
		}
		var all = new byte[size];
		m.Read(0, all);
		Assert.Equal(want, all);
		m.Sync();
		Assert.Equal(want, File.ReadAllBytes(src));
		Assert.True(d.Stat("m", "resident") * 4096 <= max);
	}

	[Fact]
	public void EvictDropsCleanPagesOnly()
	{
		var src = RandomFile(64 << 10);
		d.Ctl($"new m 64k source=file:{src}");
		Cmd.Run("mapctl", "-d", d.Root, "cat", "m");
		Cmd.Run("mapctl", ["-d", d.Root, "write", "m", "0"], "dirty"u8.ToArray());
		var r = Cmd.Run("mapctl", "-d", d.Root, "evict", "m");
		Assert.Equal(0, r.Code);
		Assert.Equal("15\n", r.Text);
		Assert.Equal(1, d.Stat("m", "resident"));
		// The pages come back from the source, the dirty one from memory.
		var want = File.ReadAllBytes(src);
		"dirty"u8.ToArray().CopyTo(want, 0);
		Assert.Equal(want, Cmd.Run("mapctl", "-d", d.Root, "cat", "m").Out);
	}

	[Fact]
	public void PagerAsksForEviction()
	{
		d.Ctl("new m 64k source=zero");
		Cmd.Run("mapctl", "-d", d.Root, "cat", "m");
		Assert.Equal(16, d.Stat("m", "resident"));
		using (var w = new FileStream(d.Fill("m"), FileMode.Open, FileAccess.Write))
			w.Write(FifoPager.Line("evict m 0 32768"));
		Cmd.WaitFor(() => d.Stat("m", "resident") == 8, "the pager's eviction");
	}

	[Fact]
	public void BoundSmallerThanTwoFillsIsRefused()
	{
		var e = Assert.Throws<Pager.Client.PagerException>(() => d.Ctl("new m 8m readahead=1m maxresident=1m"));
		Assert.Contains("maxresident 1m is less than twice the read-ahead or page size", e.Message);
		d.Ctl("new m 8m readahead=1m maxresident=2m");
		Assert.Throws<Pager.Client.PagerException>(() => d.Ctl("set m readahead=2m"));
		Assert.Contains("readahead 1m", d.Ctl("stat m"));
	}

	/// Writers and readers at once on a map whose bound keeps evicting
	/// what they touch: eviction races first writes to pages, and pagerd
	/// must neither die nor lose a write (it once marked an evicted page
	/// dirty and wrote back its own unfilled memory, and died of SIGBUS).
	[Fact]
	public void WritersAndReadersAgainstEviction()
	{
		var src = RandomFile(1 << 20);
		var data = RandomFile(1 << 20, 2, "data");
		d.Ctl($"new m 1m source=file:{src} maxresident=64k dirtylimit=32k");
		var writer = $"for i in 1 2 3 4 5 6; do mapctl write m 0 <{data} || exit 1; done";
		var reader = "for i in 1 2 3 4 5 6; do mapctl cat m >/dev/null || exit 1; done";
		var runs = Together(
			() => Cmd.Sh(writer, Env, TimeSpan.FromMinutes(3)), () => Cmd.Sh(writer, Env, TimeSpan.FromMinutes(3)),
			() => Cmd.Sh(reader, Env, TimeSpan.FromMinutes(3)), () => Cmd.Sh(reader, Env, TimeSpan.FromMinutes(3)));
		Assert.False(d.Proc.HasExited, "pagerd died: " + d.Log);
		Assert.All(runs, r => Assert.True(r.Code == 0, r.Err));
		Assert.Equal(0, Mapctl("sync", "m").Code);
		Assert.Equal(File.ReadAllBytes(data), File.ReadAllBytes(src));
		Assert.Equal(File.ReadAllBytes(data), Cat("m"));
	}
}
