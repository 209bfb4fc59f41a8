using System.Text;
using Pager.Protocol;
using Pager.Sources;
using Xunit;
using static Pager.Tests.PagefillWriteTests;
using static Pager.Tests.Streams;

namespace Pager.Tests;

/// pagefill's redis: source against a real Redis Cluster of three
/// masters and three replicas: the key layout, reads through the
/// faultcat | pagefill pipeline, writes and syncs read back with
/// redis-cli, two pagerds over one prefix, and a file loaded and
/// unloaded.
public sealed class RedisTests(RedisClusterFixture f) : PagerdTest, IClassFixture<RedisClusterFixture>
{
	const int Chunk = RedisSpec.Chunk;
	readonly RedisCluster c = f.Cluster;
	readonly string prefix = $"t{Guid.NewGuid():N}"[..12];

	string Src => c.Source(prefix);

	/// Sets key to bytes with redis-cli, as another program would.
	void Set(string key, byte[] bytes)
	{
		var r = Cmd.Run(RedisCluster.CliExe, ["-c", "-p", $"{c.Nodes[0].Port}", "-x", "SET", key], bytes, null, RedisCluster.Timeout);
		Assert.True(r.Code == 0 && r.Text.Trim() == "OK", $"redis-cli SET {key}: {r.Text}{r.Err}");
	}

	/// The map's bytes from the store, put in chunk by chunk with redis-cli;
	/// chunk 5 is never written, and the last is short.
	byte[] Stored(int size)
	{
		var want = Bytes(size, 9);
		for (int n = 0; n * Chunk < size; n++)
			if (n != 5)
				Set($"{prefix}:{n}", want[(n * Chunk)..Math.Min(size, (n + 1) * Chunk)]);
		if (size > 6 * Chunk)
			Array.Clear(want, 5 * Chunk, Chunk);
		return want;
	}

	[Fact]
	public void KeysSpreadOverEveryMaster()
	{
		// 64 chunks of a map, whatever the prefix: no hash tag, so no one slot.
		var masters = Enumerable.Range(0, 64).Select(n => c.MasterOf($"spread:{n}").Port).ToHashSet();
		Assert.Equal(3, masters.Count);
		var bad = Cmd.Run("pagefill", ["redis:tcp!127.0.0.1!1/{map}"], B(""));
		Assert.Equal(1, bad.Code);
		Assert.StartsWith("pagefill: bad redis address 'redis:tcp!127.0.0.1!1/{map}': braces in the prefix would make a hash tag", bad.Err);
	}

	[Fact]
	public void ReadsThroughThePipeline()
	{
		const int size = 16 * Chunk + 5000;
		var want = Stored(size);
		New("m", size, "readahead=32k");
		Bg("/bin/sh", "-c", $"faultcat m | pagefill -a 128k '{Src}' >$PAGERDIR/m/fill");
		WaitPager("m");
		Assert.Equal(want, Cat("m"));
		Assert.Equal("0", d.Get("m", "errors"));
	}

	[Fact]
	public void ABatchIsOnePipelinedRead()
	{
		var want = Stored(4 * Chunk);
		// Requests read together; reads across chunks, with read-ahead.
		var r = Cmd.Run("pagefill", ["-a", "64k", Src], B("read m 0 4096\nread m 61440 8192\nread m 196608 4096 size=262144\n"));
		Assert.Equal(0, r.Code);
		Assert.Equal("", r.Err);
		var runs = Runs(r.Out);
		Assert.Equal(["data 0 65536", "data 61440 65536", "data 196608 65536"], runs.Select(x => x.Line));
		Assert.Equal(want[..65536], runs[0].Bytes);
		Assert.Equal(want[61440..126976], runs[1].Bytes);
		Assert.Equal(want[196608..], runs[2].Bytes);
	}

	[Fact]
	public void NeverWrittenReadsAsZerosOrWithEAsAnError()
	{
		// Zeros go as a zero reply, not as bytes.
		var z = Cmd.Run("pagefill", ["-a", "64k", Src], B("read m 8192 8192\n"));
		Assert.Equal("zero m 8192 65536\n", z.Text);
		Set($"{prefix}:1", Bytes(4096, 3));
		var e = Cmd.Run("pagefill", ["-e", "-a", "128k", Src], B("read m 8192 4096\nread m 65536 8192\n"));
		Assert.Equal(0, e.Code);
		var runs = Runs(e.Out);
		// What the key has is served, as read-ahead too; the page after it
		// is not, nor the read-ahead past it.
		Assert.Equal([$"error m 8192 4096 {Src}: offset 0x2000 was never written", "data 65536 4096",
			"data 65536 4096", $"error m 69632 4096 {Src}: offset 0x11000 was never written"], runs.Select(x => x.Line));
		Assert.Equal(Bytes(4096, 3), runs[1].Bytes);
		Assert.Equal(Bytes(4096, 3), runs[2].Bytes);
	}

	[Fact]
	public void WritesAreStoredAndSyncedOnTheReplicas()
	{
		var p0 = Bytes(4096, 2);
		var p1 = Bytes(8192, 3);
		var r = Cmd.Run("pagefill", [Src], PagefillWriteTests.Cat(W("m", 0, p0), W("m", Chunk - 4096, p1), B("sync m 1\n")));
		Assert.Equal(0, r.Code);
		Assert.Equal("", r.Err);
		Assert.Equal($"ok m 0 4096\nok m {Chunk - 4096} 8192\nsynced m 1\n", r.Text);
		var k0 = new byte[Chunk];
		p0.CopyTo(k0, 0);
		p1[..4096].CopyTo(k0, Chunk - 4096);
		var k1 = p1[4096..];
		Assert.Equal(k0, c.Get($"{prefix}:0"));
		Assert.Equal(k1, c.Get($"{prefix}:1"));
		Assert.Null(c.Get($"{prefix}:2"));
		// Synced means every replica of those masters has them too.
		foreach (var (key, want) in new[] { ($"{prefix}:0", k0), ($"{prefix}:1", k1) })
		{
			var rep = c.ReplicasOf(c.MasterOf(key));
			Assert.NotEmpty(rep);
			foreach (var n in rep)
				Assert.Equal(want, c.GetOn(n, key));
		}
		// And pagefill reads them back, the rest of the second chunk as zeros.
		var back = Runs(Cmd.Run("pagefill", [Src], B($"read m 0 {2 * Chunk}\n")).Out);
		Assert.Equal([$"data 0 {Chunk + 4096}", $"zero m {Chunk + 4096} {Chunk - 4096}"], back.Select(x => x.Line));
		Assert.Equal([.. k0, .. k1], back[0].Bytes!);
	}

	/// Two machines, one store: two pagerds, each with a map over the same
	/// prefix. What one writes and syncs the other reads once it reads afresh.
	[Fact]
	public void TwoPagerdsOnePrefix()
	{
		const int size = 1 << 20;
		using var other = new Pagerd();
		New("m", size);
		other.Ctl($"new m {size}");
		Bg("pagefill", "-m", "m", Src);
		Bg("pagefill", ["-m", "m", Src], other.Env);
		WaitPager("m");
		Cmd.WaitFor(() => other.Get("m", "pager") == "yes", "the second pager");
		using var a = d.Attach("m");
		using var b = other.Attach("m");
		var want = new byte[size];
		// b reads before a writes: its copy is zeros.
		var before = new byte[4096];
		b.Read(300_000 & ~4095, before);
		Assert.Equal(new byte[4096], before);
		foreach (var off in new[] { 0, 300_000, Chunk - 3, size - 100 })
		{
			var bytes = Encoding.ASCII.GetBytes($"written by a at {off}");
			a.Write(off, bytes);
			bytes.CopyTo(want, off);
		}
		a.Sync();
		// b's own copy is not told: it reads afresh once evicted.
		var r = Cmd.Run("mapctl", ["evict", "m"], null, other.Env);
		Assert.True(r.Code == 0, r.Err);
		var got = new byte[size];
		b.Read(0, got);
		Assert.Equal(want, got);
		// And back the other way.
		var back = Encoding.ASCII.GetBytes("b answers");
		b.Write(4096 * 7, back);
		back.CopyTo(want, 4096 * 7);
		b.Sync();
		Assert.True(Cmd.Run("mapctl", ["evict", "m"], null, Env).Code == 0);
		a.Read(0, got);
		Assert.Equal(want, got);
	}

	/// The manual's way to put a file into the store and get it back out:
	/// mapctl write and sync through a map the redis: source serves, and
	/// mapctl cat of a fresh map over the same prefix.
	[Fact]
	public void LoadAndUnloadAFile()
	{
		const int size = (256 << 20) + 12345;
		var file = RandomFile(size, name: "disk.img");
		var bytes = File.ReadAllBytes(file);
		var copy = Path.Combine(Path.GetDirectoryName(file)!, "copy.img");
		var script = Path.Combine(Cmd.Repo, "rc", "redisload");
		var load = Cmd.Run(script, [Src, file], null, Env, TimeSpan.FromMinutes(5));
		Assert.True(load.Code == 0, $"load: {load.Text}{load.Err}");
		Assert.Equal(bytes[(5 * Chunk)..(6 * Chunk)], c.Get($"{prefix}:5"));
		var unload = Cmd.Run(Path.Combine(Cmd.Repo, "rc", "redisunload"), [Src, $"{size}", copy], null, Env, TimeSpan.FromMinutes(5));
		Assert.True(unload.Code == 0, $"unload: {unload.Text}{unload.Err}");
		var cmp = Cmd.Run("cmp", file, copy);
		Assert.True(cmp.Code == 0, cmp.Text + cmp.Err);
	}

	/// The replies in order, each run of data frames that follow on from
	/// each other put together as one "data OFF LEN" with its bytes.
	static List<(string Line, byte[]? Bytes)> Runs(byte[] output)
	{
		var runs = new List<(string, byte[]?)>();
		var buf = new MemoryStream();
		long off = -1, end = -1;
		void Flush()
		{
			if (off >= 0)
				runs.Add(($"data {off} {end - off}", buf.ToArray()));
			off = -1;
			buf.SetLength(0);
		}
		foreach (var m in Clean(output))
		{
			if (m.Verb == Verb.Data && m.Off == end && off >= 0)
			{
				buf.Write(m.Payload);
				end = m.End;
				continue;
			}
			Flush();
			if (m.Verb != Verb.Data)
			{
				runs.Add((Format.Header(m), null));
				continue;
			}
			(off, end) = (m.Off, m.End);
			buf.Write(m.Payload);
		}
		Flush();
		return runs;
	}
}

/// The redis: address and pagefill's options for it, without a cluster.
public sealed class RedisSpecTests
{
	[Fact]
	public void ParsesSeedsAndPrefix()
	{
		var s = RedisSpec.Parse("redis:tcp!10.0.0.7!7000,tcp!db!7001/maps/disk.v2");
		Assert.Equal([("10.0.0.7", 7000), ("db", 7001)], s.Seeds);
		Assert.Equal("maps/disk.v2", s.Prefix);
		Assert.Equal("maps/disk.v2:17", s.Key(17));
		Assert.Equal("redis:tcp!10.0.0.7!7000,tcp!db!7001/maps/disk.v2", s.ToString());
	}

	[Theory]
	[InlineData("redis:tcp!h!1", "no prefix")]
	[InlineData("redis:tcp!h!1/", "no prefix")]
	[InlineData("redis:h!1/p", "bad node 'h!1'")]
	[InlineData("redis:udp!h!1/p", "bad node 'udp!h!1'")]
	[InlineData("redis:tcp!!1/p", "no host")]
	[InlineData("redis:tcp!h!0/p", "bad port '0'")]
	[InlineData("redis:tcp!h!1,/p", "bad node ''")]
	[InlineData("redis:tcp!h!1/a b", "' ' in the prefix (letters, digits and . _ - : / only)")]
	[InlineData("redis:tcp!h!1/a{b}", "braces in the prefix would make a hash tag, putting the map on one node")]
	public void RefusesBadAddresses(string source, string why)
	{
		var e = Assert.Throws<ArgumentException>(() => RedisSpec.Parse(source));
		Assert.Equal($"bad redis address '{source}': {why}; want redis:tcp!HOST!PORT[,tcp!HOST!PORT...]/PREFIX", e.Message);
	}

	[Theory]
	[InlineData("-e", "zero", "-e, -r and -t are for redis: sources")]
	[InlineData("-r", "1", "file:/dev/null", "-e, -r and -t are for redis: sources")]
	[InlineData("-r", "x", "redis:tcp!127.0.0.1!1/p", "bad replica count 'x'")]
	[InlineData("-t", "0", "redis:tcp!127.0.0.1!1/p", "bad wait '0': want more than 0 and at most 1h")]
	[InlineData("-t", "soon", "redis:tcp!127.0.0.1!1/p", "bad wait 'soon'")]
	public void RefusesOptionsThatDoNotFit(params string[] args)
	{
		var r = Cmd.Run("pagefill", args[..^1], Streams.B(""));
		Assert.Equal(1, r.Code);
		Assert.StartsWith($"pagefill: {args[^1]}\nusage: pagefill ", r.Err);
	}
}
