using System.Collections.Concurrent;
using Pager.Client;
using Pager.Protocol;
using Xunit;

namespace Pager.Tests;

/// Dirty pages, write-back and sync, against a real pagerd.
public sealed class WriteBackTests : PagerdTest
{
	static byte[] Bytes(int n, int seed)
	{
		var b = new byte[n];
		new Random(seed).NextBytes(b);
		return b;
	}

	[Fact]
	public void BuiltinFileRoundTrip()
	{
		var src = RandomFile(100_000);
		var want = File.ReadAllBytes(src);
		d.Ctl($"new m 100000 source=file:{src}");
		using var m = d.Attach("m");
		var b = new byte[10];
		m.Read(0, b); // a page read, not written: stays clean
		foreach (var off in new[] { 5000L, 40960, 99_990 })
		{
			var x = Bytes(10, (int)off);
			m.Write(off, x);
			x.CopyTo(want, off);
		}
		Assert.Equal(3, d.Stat("m", "dirty"));
		m.Sync();
		Assert.Equal(0, d.Stat("m", "dirty"));
		Assert.Equal(3, d.Stat("m", "writes"));
		Assert.Equal(want, File.ReadAllBytes(src));
	}

	/// A pager that keeps what it is sent in memory, and answers ok or fail
	/// as told.
	sealed class Store
	{
		public readonly ConcurrentDictionary<long, byte[]> Pages = new();
		public volatile string? Failing;

		public IEnumerable<byte[]>? Answer(Msg r) => r.Verb switch
		{
			Verb.Read => [FifoPager.Line($"zero {r.Map} {r.Off} {r.Len}")],
			Verb.Write => Write(r),
			Verb.Sync => [FifoPager.Line($"synced {r.Map} {r.Seq}")],
			_ => null,
		};

		IEnumerable<byte[]> Write(Msg r)
		{
			if (Failing is not null)
				return [FifoPager.Line($"fail {r.Map} {r.Off} {r.Len} {Failing}")];
			for (long p = 0; p < r.Len; p += 4096)
				Pages[r.Off + p] = r.Payload.AsSpan((int)p, 4096).ToArray();
			return [FifoPager.Line($"ok {r.Map} {r.Off} {r.Len}")];
		}

		public byte[] Image(long size)
		{
			var b = new byte[size];
			foreach (var (off, page) in Pages)
				page.AsSpan(0, (int)Math.Min(4096, size - off)).CopyTo(b.AsSpan((int)off));
			return b;
		}
	}

	[Fact]
	public void PagerWriteBackAndFailure()
	{
		d.Ctl("new m 64k");
		var store = new Store();
		using var p = new FifoPager(d, "m", store.Answer);
		using var m = d.Attach("m");
		var notes = new ConcurrentQueue<string>();
		m.Note += notes.Enqueue;
		m.Write(8192, "abc"u8);
		store.Failing = "network is down";
		var e = Assert.Throws<SyncException>(() => m.Sync());
		Assert.Equal(["8192 4096 pager: network is down"], e.Failures);
		Assert.Equal(1, d.Stat("m", "dirty"));
		Cmd.WaitFor(() => notes.Any(n => n.Contains("write-back: pager: network is down")), "the note");
		Assert.Contains(d.Ctl("err m"), l => l.Contains("8192 4096 write-back: pager: network is down"));
		// The client goes on: it can still read and write its memory.
		m.Write(8195, "def"u8);
		store.Failing = null;
		m.Sync();
		Assert.Equal(0, d.Stat("m", "dirty"));
		Assert.Equal("abcdef"u8.ToArray(), store.Pages[8192][..6]);
	}

	[Fact]
	public void ConcurrentWritersDuringSyncLoseNothing()
	{
		long size = 1 << 20;
		d.Ctl($"new m {size}");
		var store = new Store();
		using var p = new FifoPager(d, "m", store.Answer);
		using var m = d.Attach("m");
		var stop = false;
		var writers = Enumerable.Range(0, 4).Select(t => new Thread(() =>
		{
			var rnd = new Random(t);
			var x = new byte[8];
			while (!Volatile.Read(ref stop))
			{
				rnd.NextBytes(x);
				m.Write(rnd.NextInt64(size / 8) * 8, x);
			}
		})).ToList();
		writers.ForEach(w => w.Start());
		for (int i = 0; i < 5; i++)
			m.Sync();
		Volatile.Write(ref stop, true);
		writers.ForEach(w => Assert.True(w.Join(Cmd.Timeout)));
		m.Sync();
		var mem = new byte[size];
		m.Read(0, mem);
		Assert.Equal(mem, store.Image(size));
	}

	[Fact]
	public void TwoClientsWriteDifferentPages()
	{
		var src = RandomFile(1 << 16);
		var want = File.ReadAllBytes(src);
		d.Ctl($"new m {1 << 16} source=file:{src}");
		using var a = d.Attach("m");
		using var b = d.Attach("m");
		var x = Bytes(100, 1);
		var y = Bytes(100, 2);
		a.Write(0, x);
		b.Write(4096 * 5, y);
		x.CopyTo(want, 0);
		y.CopyTo(want, 4096 * 5);
		var seen = new byte[100];
		a.Read(4096 * 5, seen);
		Assert.Equal(y, seen);
		b.Sync();
		Assert.Equal(want, File.ReadAllBytes(src));
	}

	[Fact]
	public void WriteToAPageThatCouldNotBeReadRaisesSigbus()
	{
		d.Ctl("new m 64k");
		using var p = new FifoPager(d, "m", r => [FifoPager.Line($"error m {r.Off} {r.Len} unreadable")]);
		var r = Cmd.Run("mapctl", ["-d", d.Root, "write", "m", "4096"], "hello"u8.ToArray());
		Assert.Equal(128 + 7, r.Code);
		Assert.Equal(0, d.Stat("m", "dirty"));
		Assert.Contains(d.Ctl("err m"), l => l.Contains("4096 4096 pager: unreadable"));
	}

	[Fact]
	public void MapctlWriteAndSync()
	{
		var src = RandomFile(50_000);
		var want = File.ReadAllBytes(src);
		d.Ctl($"new m 50000 source=file:{src}");
		var r = Cmd.Run("mapctl", ["-d", d.Root, "write", "m", "12345"], "written by the shell"u8.ToArray());
		Assert.True(r.Code == 0, r.Err);
		Assert.Equal(1, d.Stat("m", "dirty"));
		"written by the shell"u8.ToArray().CopyTo(want, 12345);
		Assert.Equal(want, Cmd.Run("mapctl", "-d", d.Root, "cat", "m").Out);
		Assert.Equal(0, Cmd.Run("mapctl", "-d", d.Root, "sync", "m").Code);
		Assert.Equal(want, File.ReadAllBytes(src));
		r = Cmd.Run("mapctl", ["-d", d.Root, "write", "m", "49999"], "xy"u8.ToArray());
		Assert.Equal(1, r.Code);
		Assert.Contains("past the end of the map", r.Err);
	}

	[Fact]
	public void SyncWithNowhereToWriteFails()
	{
		d.Ctl("new m 64k source=zero");
		var r = Cmd.Run("mapctl", ["-d", d.Root, "write", "m", "0"], "x"u8.ToArray());
		Assert.Equal(0, r.Code);
		r = Cmd.Run("mapctl", "-d", d.Root, "sync", "m");
		Assert.Equal(1, r.Code);
		Assert.Contains("mapctl: sync m: 0 4096 no pager is attached and the map has no source to write to", r.Err);
		Assert.Equal(1, d.Stat("m", "dirty"));
	}

	[Fact]
	public void RmRefusesDirtyPagesUnlessForced()
	{
		d.Ctl("new m 64k source=zero");
		Cmd.Run("mapctl", ["-d", d.Root, "write", "m", "0"], "x"u8.ToArray());
		Assert.Contains("not written back", Assert.Throws<PagerException>(() => d.Ctl("rm m")).Message);
		d.Ctl("rm m force");
		Assert.Empty(d.Ctl("ls"));
	}

	[Fact]
	public void WriteBehindWritesWithoutSync()
	{
		var src = RandomFile(64 * 1024);
		d.Ctl($"new m 64k source=file:{src} writebehind=100ms");
		Assert.Equal(0, Cmd.Run("mapctl", ["-d", d.Root, "write", "m", "100"], "behind"u8.ToArray()).Code);
		// One write, or two when write-behind protected the page between
		// the client's fault and its store, and the store dirtied it again.
		Cmd.WaitFor(() => d.Stat("m", "writes") >= 1 && d.Stat("m", "dirty") == 0, "write-behind");
		Assert.Equal("behind"u8.ToArray(), File.ReadAllBytes(src).AsSpan(100, 6).ToArray());
	}

	[Fact]
	public void DirtyLimitWritesAtOnce()
	{
		var src = RandomFile(64 * 1024);
		d.Ctl($"new m 64k source=file:{src} dirtylimit=8k");
		Cmd.Run("mapctl", ["-d", d.Root, "write", "m", "0"], new byte[3 * 4096]);
		Cmd.WaitFor(() => d.Stat("m", "writes") >= 1, "the dirty limit to start a write-back");
	}

	[Fact]
	public void SigtermWritesBackFirst()
	{
		var src = RandomFile(64 * 1024);
		d.Ctl($"new m 64k source=file:{src}");
		Cmd.Run("mapctl", ["-d", d.Root, "write", "m", "4096"], "last words"u8.ToArray());
		Tmds.Linux.LibC.kill(d.Proc.Id, 15);
		Assert.True(d.Proc.WaitForExit(20_000));
		Assert.Equal("last words"u8.ToArray(), File.ReadAllBytes(src).AsSpan(4096, 10).ToArray());
	}

	[Theory]
	[InlineData("ok m 0 4096", "ok for 0 4096, which was not written")]
	[InlineData("fail m 0 4096 oops", "fail for 0 4096, which was not written")]
	[InlineData("synced m 7", "synced 7, which was not asked")]
	[InlineData("ok m 1 4096", "not page-aligned")]
	[InlineData("synced m", "synced needs MAP SEQ")]
	public void MalformedWriteBackRepliesAreRefused(string bad, string why)
	{
		d.Ctl("new m 64k");
		using (var w = new FileStream(d.Fill("m"), FileMode.Open, FileAccess.Write))
			w.Write(FifoPager.Line(bad));
		Cmd.WaitFor(() => d.Ctl("err m").Any(e => e.Contains(why)), $"'{why}' in the errors");
		Assert.Equal(0, d.Stat("m", "resident"));
	}

	[Fact]
	public void FailedBarrierMakesAcknowledgedPagesDirtyAgain()
	{
		d.Ctl("new m 64k");
		bool failSync = true;
		using var p = new FifoPager(d, "m", r => r.Verb switch
		{
			Verb.Read => [FifoPager.Line($"zero m {r.Off} {r.Len}")],
			Verb.Write => [FifoPager.Line($"ok m {r.Off} {r.Len}")],
			Verb.Sync when failSync => [Format.Bytes(new Msg { Verb = Verb.Synced, Map = "m", Seq = r.Seq, Keys = [new("err", "disk full")] })],
			Verb.Sync => [FifoPager.Line($"synced m {r.Seq}")],
			_ => null,
		});
		using var m = d.Attach("m");
		m.Write(4096, "x"u8);
		var e = Assert.Throws<SyncException>(() => m.Sync());
		Assert.Equal(["4096 4096 sync: disk full"], e.Failures);
		Assert.Equal(1, d.Stat("m", "dirty"));
		failSync = false;
		m.Sync();
		Assert.Equal(0, d.Stat("m", "dirty"));
		Assert.Equal(2, p.Seen.Count(x => x.Verb == Verb.Write));
	}

	/// A pager that ignores write and sync (as the awk pager of pager(7)
	/// does): under the map's timeout, sync fails saying so instead of
	/// waiting for ever, the page stays dirty, and write-behind goes on.
	[Fact]
	public void UnansweredWriteBackTimesOut()
	{
		d.Ctl("new m 64k timeout=1s writebehind=100ms");
		using var p = new FifoPager(d, "m", r => r.Verb == Verb.Read ? [FifoPager.Line($"zero m {r.Off} {r.Len}")] : null);
		using var m = d.Attach("m");
		m.Write(4096, "x"u8);
		var r = Cmd.Run("mapctl", "-d", d.Root, "sync", "m");
		Assert.Equal(1, r.Code);
		Assert.Contains("4096 4096 timeout: no pager answered in 1s", r.Err);
		var st = Protocol.Status.Parse(d.Ctl("stat m"));
		Assert.Equal(1, long.Parse(st["dirty"]) + long.Parse(st["writing"]));
		// Write-behind tries again by itself.
		Cmd.WaitFor(() => p.Seen.Count(x => x.Verb == Verb.Write) >= 3, "write-behind to try again");
	}
}
