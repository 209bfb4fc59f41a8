using Pager.Protocol;
using Xunit;

namespace Pager.Tests;

/// The latency histograms of a map's status: their format, and that every
/// fault served is counted once, under whoever served it.
public class LatencyTests : PagerdTest
{
	static readonly string[] FaultKinds = ["pager", "source", "present", "error"];

	Histogram Latency(string map, string what) => Histogram.Parse(d.Get(map, "latency." + what), what);

	/// The fault histograms add up to the faults taken, none waiting.
	void AddsUp(string map)
	{
		Assert.Equal(0, d.Stat(map, "waiting"));
		var st = Status.Parse(d.Ctl($"stat {map}"));
		long sum = FaultKinds.Sum(k => Histogram.Parse(st["latency.fault." + k], k).Count);
		Assert.Equal(long.Parse(st["faults"]), sum);
	}

	[Fact]
	public void FormatAndParse()
	{
		var h = new Histogram();
		foreach (var us in new long[] { 0, 1, 3, 1000 })
			h.Add(us);
		Assert.Equal("n=4 p50=2 p90=1000 p99=1000 max=1000 buckets=1,1,1,0,0,0,0,0,0,0,1", h.ToString());
		var back = Histogram.Parse(h.ToString(), "h");
		Assert.Equal(h.ToString(), back.ToString());
		Assert.Equal(4, back.Count);
		Assert.Equal("n=0 p50=0 p90=0 p99=0 max=0 buckets=", new Histogram().ToString());
		h.Add(long.MaxValue);
		Assert.Equal(1, h[Histogram.Buckets - 1]);
		var e = Assert.Throws<ProtocolException>(() => Histogram.Parse("n=3 p50=1 max=1 buckets=1,1", "latency.write"));
		Assert.Equal("latency.write: buckets add up to 2, not n=3", e.Message);
		e = Assert.Throws<ProtocolException>(() => Histogram.Parse("n=1 max=1", "latency.sync"));
		Assert.Equal("latency.sync: no buckets= field", e.Message);
		var later = Histogram.Parse("n=6 p50=2 p90=1000 p99=1000 max=1000 buckets=1,3,1,0,0,0,0,0,0,0,1", "h");
		var delta = later.Minus(back);
		Assert.Equal(2, delta.Count);
		Assert.Equal(2, delta.Quantile(0.99));
	}

	[Fact]
	public void BuiltinSourceFaultsAreCounted()
	{
		var src = RandomFile(1 << 20);
		d.Ctl($"new m {1 << 20} source=file:{src}");
		var r = Cmd.Run("mapctl", ["-d", d.Root, "cat", "m"]);
		Assert.Equal(0, r.Code);
		Assert.Equal(File.ReadAllBytes(src), r.Out);
		Assert.True(Latency("m", "fault.source").Count > 0);
		Assert.Equal(0, Latency("m", "fault.pager").Count);
		AddsUp("m");
	}

	[Fact]
	public void PagerFaultsAreCounted()
	{
		d.Ctl("new m 256k");
		using (var p = new FifoPager(d, "m", r => [FifoPager.Line($"zero m {r.Off} {r.Len}")]))
		{
			var r = Cmd.Run("mapctl", ["-d", d.Root, "cat", "m"]);
			Assert.Equal(0, r.Code);
			Assert.Equal(new byte[256 << 10], r.Out);
		}
		var h = Latency("m", "fault.pager");
		Assert.True(h.Count > 0);
		Assert.True(h.Quantile(0.5) <= h.Quantile(0.99) && h.Quantile(0.99) <= h.Max);
		Assert.Equal(0, Latency("m", "fault.source").Count);
		AddsUp("m");
	}

	[Fact]
	public void FaultsEndingInErrorAreCounted()
	{
		d.Ctl("new m 64k");
		using var p = new FifoPager(d, "m", r => [FifoPager.Line($"error m {r.Off} {r.Len} unreadable")]);
		var r = Cmd.Run("mapctl", ["-d", d.Root, "cat", "m"]);
		Assert.Equal(128 + 7, r.Code); // SIGBUS
		Assert.True(Latency("m", "fault.error").Count > 0);
		AddsUp("m");
	}

	[Fact]
	public void WritesAndSyncsAreCounted()
	{
		var src = RandomFile(64 << 10);
		d.Ctl($"new m {64 << 10} source=file:{src}");
		using var m = d.Attach("m");
		m.Write(0, "abc"u8);
		m.Sync();
		m.Write(8192, "def"u8);
		m.Write(3 * 4096, "ghi"u8);
		m.Sync();
		var w = Latency("m", "write");
		Assert.Equal(d.Stat("m", "writes") + d.Stat("m", "writefails"), w.Count);
		Assert.True(w.Count >= 2);
		Assert.Equal(2, Latency("m", "sync").Count);
		AddsUp("m");
	}
}
