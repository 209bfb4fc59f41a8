using System.Text;
using Pager.Client;
using Pager.Sources;
using Xunit;
using static Pager.Tests.PagefillWriteTests;
using static Pager.Tests.Streams;

namespace Pager.Tests;

/// The cluster moving under a redis: source: a master killed in the
/// middle of reads, and syncs that cannot be replicated. A cluster of
/// its own, since these tests kill and freeze its nodes.
public sealed class RedisFailoverTests(RedisClusterFixture f) : PagerdTest, IClassFixture<RedisClusterFixture>, IDisposable
{
	const int Chunk = RedisSpec.Chunk;
	readonly RedisCluster c = f.Cluster;
	readonly string prefix = $"f{Guid.NewGuid():N}"[..12];

	string Src => c.Source(prefix);

	void IDisposable.Dispose()
	{
		// Whatever a test froze or killed, the next finds the cluster whole.
		foreach (var n in c.Nodes)
		{
			if (n.Running)
				c.Resume(n);
			else
				c.Start(n);
		}
		c.WaitHealthy();
		base.Dispose();
	}

	/// Waits for a sync of m to succeed: the cluster heals in its own time.
	static void SyncSucceeds(Mapping m, string when) => Cmd.WaitFor(() =>
	{
		try
		{
			m.Sync();
			return true;
		}
		catch (SyncException)
		{
			return false;
		}
	}, $"a sync to succeed {when}", RedisCluster.Timeout);

	/// Stores want under the prefix through pagefill, synced: on the masters and their replicas.
	void Store(byte[] want)
	{
		var reqs = new List<byte[]>();
		for (int off = 0; off < want.Length; off += Chunk)
			reqs.Add(W("m", off, want[off..Math.Min(want.Length, off + Chunk)]));
		reqs.Add(B("sync m 1\n"));
		var r = Cmd.Run("pagefill", [Src], PagefillWriteTests.Cat([.. reqs]));
		Assert.True(r.Text.EndsWith("synced m 1\n"), r.Text + r.Err);
	}

	[Fact]
	public void MasterKilledDuringReads()
	{
		const int size = 4 << 20;
		var want = Bytes(size, 11);
		Store(want);
		New("m", size);
		Bg("/bin/sh", "-c", $"faultcat m | pagefill -t 30s '{Src}' >$PAGERDIR/m/fill");
		WaitPager("m");
		using var m = d.Attach("m");
		// The master of a chunk not read yet dies once the reads are under way.
		var victim = c.MasterOf($"{prefix}:40");
		var page = new byte[4096];
		for (int off = 0; off < size; off += 4096)
		{
			if (off == 8 * Chunk)
				c.Kill(victim);
			m.Read(off, page);
			Assert.True(want.AsSpan(off, 4096).SequenceEqual(page), $"page at {off} differs");
		}
		Assert.Equal("0", d.Get("m", "errors"));
		Assert.NotEqual(victim.Port, c.MasterOf($"{prefix}:40").Port);
		// The node comes back, a replica now; the map read afresh is the same.
		c.Start(victim);
		c.WaitHealthy();
		Assert.True(Cmd.Run("mapctl", ["evict", "m"], null, Env).Code == 0);
		var all = new byte[size];
		m.Read(0, all);
		Assert.Equal(want, all);
	}

	[Fact]
	public void SyncFailsUntilItCanBeReplicated()
	{
		const int size = 1 << 20;
		New("m", size);
		var pager = Bg("pagefill", "-m", "m", "-t", "1s", Src);
		WaitPager("m");
		using var m = d.Attach("m");
		var master = c.MasterOf($"{prefix}:0");
		var replicas = c.ReplicasOf(master);
		Assert.NotEmpty(replicas);
		foreach (var r in replicas)
			c.Pause(r);
		var bytes = Encoding.ASCII.GetBytes("not yet replicated");
		m.Write(100, bytes);
		var e = Assert.Throws<SyncException>(() => m.Sync());
		Assert.Contains(e.Failures, x => x.Contains($"redis tcp!127.0.0.1!{master.Port}: 0 of 1 replicas have the writes after 1s"));
		Assert.Equal(1, d.Stat("m", "dirty"));
		// The master has the bytes (write said ok), its replica not.
		Assert.Equal(bytes, c.GetOn(master, $"{prefix}:0")![100..(100 + bytes.Length)]);
		// With -r 0 a sync asks no replica: it passes.
		var r0 = Cmd.Run("pagefill", ["-r", "0", "-t", "1s", Src], PagefillWriteTests.Cat(W("m", 8192, Bytes(4096, 7)), B("sync m 1\n")));
		Assert.Equal("ok m 8192 4096\nsynced m 1\n", r0.Text);
		foreach (var r in replicas)
			c.Resume(r);
		c.WaitHealthy();
		// A later sync writes the page again and is answered synced once replicated.
		SyncSucceeds(m, "with the replicas back");
		Assert.Equal(0, d.Stat("m", "dirty"));
		foreach (var r in replicas)
			Assert.Equal(bytes, c.GetOn(r, $"{prefix}:0")![100..(100 + bytes.Length)]);
		Assert.Equal("", Errors(pager));
	}

	/// A master answers a write ok and dies before any WAIT confirmed that
	/// its replica has it; the replica is promoted. The sync fails naming
	/// the node, and so does every sync after it until the page is written
	/// again and replicated.
	[Fact]
	public void MasterFailsOverBeforeItsWritesAreReplicated()
	{
		var key = $"{prefix}:0";
		var master = c.MasterOf(key);
		var replica = c.ReplicasOf(master).First();
		using var s = new PagefillNinePTests.Session(["-t", "2s", Src]);
		var p = Bytes(4096, 5);
		s.Send(W("m", 0, p));
		Assert.Equal("ok m 0 4096", s.Line());
		c.Kill(master);
		Cmd.WaitFor(() => c.TryMasterOf(key) == replica, $"{replica} to be promoted", RedisCluster.Timeout);
		// Why the connection ended (closed, reset, refused, lost) depends
		// on when the client last looked at the dead master; the node and
		// what it took are what the sync must say.
		var lost = $@"^redis tcp!127\.0\.0\.1!{master.Port}: [a-z ]+ since it took writes; they may not be replicated$";
		s.Send(B("sync m 1\n"));
		Assert.Matches(lost, s.Next().Key("err"));
		// Nothing written since, and still not known replicated.
		s.Send(B("sync m 2\n"));
		Assert.Matches(lost, s.Next().Key("err"));
		// Written again, to the new master, which has no replica while the
		// old one is down (and, if the client still took the old one for
		// the slot's master, the write was redirected: not confirmed either).
		s.Send(PagefillWriteTests.Cat(W("m", 0, p), B("sync m 3\n")));
		Assert.Equal("ok m 0 4096", s.Line());
		Assert.Contains($"redis tcp!127.0.0.1!{replica.Port}: ", s.Next().Key("err"));
		// The old master comes back, the new one's replica: written again,
		// as pagerd does after a failed sync, the page is synced.
		c.Start(master);
		c.WaitHealthy();
		s.Send(PagefillWriteTests.Cat(W("m", 0, p), B("sync m 4\n")));
		Assert.Equal("ok m 0 4096", s.Line());
		Assert.Equal("synced m 4", s.Line());
		Assert.Equal(p, c.GetOn(master, key)![..4096]);
		Assert.Equal(0, s.Close());
	}

	/// The same through pagerd: a sync that fails leaves the pages dirty,
	/// and a later one, once the cluster has a replica for them again,
	/// writes them to the new master.
	[Fact]
	public void PagesStayDirtyAcrossAFailover()
	{
		const int size = 1 << 20;
		New("m", size);
		Bg("pagefill", "-m", "m", "-t", "1s", Src);
		WaitPager("m");
		using var m = d.Attach("m");
		var master = c.MasterOf($"{prefix}:0");
		var replica = c.ReplicasOf(master).First();
		var bytes = Encoding.ASCII.GetBytes("kept dirty across a failover");
		c.Pause(replica);
		m.Write(0, bytes);
		Assert.Throws<SyncException>(() => m.Sync());
		c.Kill(master);
		c.Resume(replica);
		Cmd.WaitFor(() => c.TryMasterOf($"{prefix}:0") == replica, $"{replica} to be promoted", RedisCluster.Timeout);
		Assert.Equal(1, d.Stat("m", "dirty"));
		var e = Assert.Throws<SyncException>(() => m.Sync());
		Assert.Contains(e.Failures, x => x.Contains("redis tcp!127.0.0.1!"));
		Assert.Equal(1, d.Stat("m", "dirty"));
		c.Start(master);
		c.WaitHealthy();
		SyncSucceeds(m, "with a replica back");
		Assert.Equal(0, d.Stat("m", "dirty"));
		Assert.Equal(bytes, c.GetOn(replica, $"{prefix}:0")![..bytes.Length]);
		Assert.Equal(bytes, c.GetOn(master, $"{prefix}:0")![..bytes.Length]);
	}

	/// A slot migrating from one master to another under a pagefill that
	/// knows the old layout: reads follow ASK while the slot moves and
	/// MOVED after; a write sent by ASK to the new master is synced only
	/// once that master's replicas have it.
	[Fact]
	public void ReadsAndWritesFollowASlotThatMoves()
	{
		var key = $"{prefix}:0";
		var want = Bytes(2 * Chunk, 13);
		Store(want);
		var from = c.MasterOf(key);
		var to = c.Nodes.First(n => n != from && c.Masters(from).Contains(n.Port));
		string Id(RedisCluster.Node n) => c.Cli(n, "CLUSTER", "MYID").Text.Trim();
		var slot = c.Cli(null, "CLUSTER", "KEYSLOT", key).Text.Trim();
		using var s = new PagefillNinePTests.Session(["-t", "1s", Src]);
		Assert.Equal(want[..4096], s.Data(0, 4096, "read m 0 4096\n"));
		// The slot moves: the key is on the new master, the old one answers ASK.
		Assert.Equal("OK", c.Direct(to, "CLUSTER", "SETSLOT", slot, "IMPORTING", Id(from)).Text.Trim());
		Assert.Equal("OK", c.Direct(from, "CLUSTER", "SETSLOT", slot, "MIGRATING", Id(to)).Text.Trim());
		Assert.Equal("OK", c.Direct(from, "MIGRATE", "127.0.0.1", $"{to.Port}", key, "0", "5000").Text.Trim());
		Assert.StartsWith("ASK ", c.Direct(from, "GET", key).Text);
		Assert.Equal(want[4096..8192], s.Data(4096, 4096, "read m 4096 4096\n"));
		// The write goes by ASK to the new master: its WAIT is the one that
		// counts, so with its replicas frozen the sync fails naming it.
		var p = Bytes(4096, 14);
		var replicas = c.ReplicasOf(to);
		foreach (var r in replicas)
			c.Pause(r);
		s.Send(PagefillWriteTests.Cat(W("m", 8192, p), B("sync m 1\n")));
		Assert.Equal("ok m 8192 4096", s.Line());
		Assert.Equal($"redis tcp!127.0.0.1!{to.Port}: 0 of 1 replicas have the writes after 1s", s.Next().Key("err"));
		foreach (var r in replicas)
			c.Resume(r);
		c.WaitHealthy();
		s.Send(PagefillWriteTests.Cat(W("m", 8192, p), B("sync m 2\n")));
		Assert.Equal("ok m 8192 4096", s.Line());
		Assert.Equal("synced m 2", s.Line());
		Assert.Equal(p, c.GetOn(to, key)![8192..12288]);
		p.CopyTo(want, 8192);
		// The move is done: the masters are told, and the old one answers MOVED.
		foreach (var m in new[] { to, from })
			Assert.Equal("OK", c.Direct(m, "CLUSTER", "SETSLOT", slot, "NODE", Id(to)).Text.Trim());
		Assert.StartsWith("MOVED ", c.Direct(from, "GET", key).Text);
		foreach (var r in c.ReplicasOf(to))
			Assert.Equal(p, c.GetOn(r, key)![8192..12288]);
		Assert.Equal(want[..Chunk], s.Data(0, Chunk, $"read m 0 {Chunk}\n"));
		Assert.Equal(0, s.Close());
	}
}
