using System.Collections.Concurrent;
using System.Text;
using Pager.Client;
using Pager.Protocol;
using Xunit;

namespace Pager.Tests;

/// pagerd killed outright and started again (pagerd(8), "Restarts"):
/// its keeper hands the next one every map, with its resident and dirty
/// pages; clients attach again, pagers find the new FIFOs, and writes
/// never acknowledged are sent again.
public sealed class RestartTests : PagerdTest
{
	/// Page bytes a test's pager serves: the same for the same offset.
	static byte[] Pattern(long off, long len)
	{
		var b = new byte[len];
		new Random((int)(off / 4096) + 7).NextBytes(b);
		return b;
	}

	/// A pager that serves Pattern and keeps the writes it is sent, in
	/// order, acknowledging them only when told to.
	sealed class Pager
	{
		public readonly ConcurrentQueue<(long Off, byte[] Bytes)> Writes = new();
		public readonly ConcurrentQueue<long> Reads = new();
		public bool Acknowledge;

		public IEnumerable<byte[]>? Answer(Msg r)
		{
			switch (r.Verb)
			{
			case Verb.Read:
				Reads.Enqueue(r.Off);
				return Format.DataFrames(r.Map, r.Off, Pattern(r.Off, r.Len));
			case Verb.Write:
				Writes.Enqueue((r.Off, r.Payload!.ToArray()));
				return Acknowledge ? [FifoPager.Line($"ok {r.Map} {r.Off} {r.Len}")] : null;
			case Verb.Sync:
				return [FifoPager.Line($"synced {r.Map} {r.Seq}")];
			default:
				return null;
			}
		}
	}

	/// A write made with mapctl and never acknowledged by the pager is
	/// still there after kill -9, in memory and dirty, and the next
	/// pagerd writes it back; the page it lies on is not read again.
	[Fact]
	public void UnacknowledgedWritesAreSentAgain()
	{
		New("m", 64 << 10);
		var first = new Pager();
		using (new FifoPager(d, "m", first.Answer))
		{
			var r = Cmd.Run("mapctl", ["write", "m", "4100"], "kept across"u8.ToArray(), Env);
			Assert.True(r.Code == 0, r.Err);
			Assert.Equal(1, d.Stat("m", "dirty"));
			d.Kill();
		}
		d.Restart();
		Cmd.WaitFor(() => d.Log.Contains("map m: recovered, 1 pages resident, 1 unwritten"), "the recovery in the log");
		Assert.Equal(1, d.Stat("m", "dirty"));
		var want = Pattern(4096, 4096);
		"kept across"u8.ToArray().CopyTo(want, 4);
		Assert.Equal(want, Cat("m", "4096", "4096"));

		var second = new Pager { Acknowledge = true };
		using (new FifoPager(d, "m", second.Answer))
		{
			var r = Mapctl("sync", "m");
			Assert.True(r.Code == 0, r.Err);
		}
		var (off, bytes) = Assert.Single(second.Writes);
		Assert.Equal(4096, off);
		Assert.Equal(want, bytes);
		Assert.DoesNotContain(4096L, second.Reads);
		Assert.Equal(0, d.Stat("m", "dirty"));
	}

	/// A sync made just after the restart, before the pager is back,
	/// waits for it rather than failing for want of one.
	[Fact]
	public void SyncWaitsForThePagerToComeBack()
	{
		New("m", 64 << 10);
		using (new FifoPager(d, "m", new Pager().Answer))
		{
			var r = Cmd.Run("mapctl", ["write", "m", "0"], "early"u8.ToArray(), Env);
			Assert.True(r.Code == 0, r.Err);
			d.Kill();
		}
		d.Restart();
		var sync = Bg("mapctl", "sync", "m");
		Cmd.WaitFor(() => d.Log.Contains("map m: sync waits up to 10s for the pager to come back"), "the sync to wait");
		var second = new Pager { Acknowledge = true };
		using (new FifoPager(d, "m", second.Answer))
		{
			Assert.True(sync.WaitForExit((int)Cmd.Timeout.TotalMilliseconds), "the sync never ended");
			Assert.True(sync.ExitCode == 0, Errors(sync));
		}
		Assert.Equal("early"u8.ToArray(), Assert.Single(second.Writes).Bytes.AsSpan(0, 5).ToArray());
	}

	/// A client of the test's own keeps its map across kill -9: a thread
	/// blocked on a fault meanwhile gets the next pagerd's page, and sync
	/// writes what it wrote before the death.
	[Fact]
	public void ClientAttachesAgainAndLosesNothing()
	{
		New("m", 64 << 10);
		var p1 = new Pager { Acknowledge = false };
		var fp1 = new FifoPager(d, "m", p1.Answer);
		using var m = Mapping.Attach("m", new AttachOptions { Root = d.Root, Grace = TimeSpan.FromMinutes(2) });
		var got = new byte[4096];
		m.Read(0, got);
		Assert.Equal(Pattern(0, 4096), got);
		var mine = Pattern(1 << 20, 4096);
		m.Write(8192, mine);

		d.Kill();
		fp1.Dispose();
		// A fault no pagerd can serve yet: its thread waits for the next.
		var late = new byte[4096];
		var reader = new Thread(() => m.Read(5 * 4096, late)) { IsBackground = true };
		reader.Start();

		d.Restart();
		var p2 = new Pager { Acknowledge = true };
		using (new FifoPager(d, "m", p2.Answer))
		{
			Assert.True(reader.Join(Cmd.Timeout), "the fault was never served");
			Assert.Equal(Pattern(5 * 4096, 4096), late);
			Cmd.WaitFor(() => d.Stat("m", "clients") == 1, "the client to attach again");
			m.Sync();
		}
		Assert.Contains(p2.Writes, w => w.Off == 8192 && w.Bytes.AsSpan().SequenceEqual(mine));
		m.Read(0, got);
		Assert.Equal(Pattern(0, 4096), got);
		Assert.DoesNotContain(0L, p2.Reads);
	}

	/// faultcat | pagefill goes on across the restart, the same two
	/// processes, reading from and writing to the next pagerd's FIFOs.
	[Fact]
	public void PipelineOutlivesPagerd()
	{
		var f = PipelineMap("m", 256 << 10);
		Assert.Equal(File.ReadAllBytes(f).AsSpan(0, 8192).ToArray(), Cat("m", "0", "8192"));
		var pids = Pids("faultcat", "pagefill");
		d.Kill();
		d.Restart();
		Assert.Equal(File.ReadAllBytes(f), Cat("m"));
		Assert.Equal(pids, Pids("faultcat", "pagefill"));
		var r = Cmd.Run("mapctl", ["write", "m", "70000"], "after the restart"u8.ToArray(), Env);
		Assert.True(r.Code == 0, r.Err);
		r = Mapctl("sync", "m");
		Assert.True(r.Code == 0, r.Err);
		Assert.Equal("after the restart"u8.ToArray(), File.ReadAllBytes(f).AsSpan(70000, 17).ToArray());
	}

	/// The pids of the commands named, running on this test's namespace.
	List<int> Pids(params string[] names)
	{
		var pids = new List<int>();
		foreach (var dir in Directory.GetDirectories("/proc"))
			try
			{
				if (!int.TryParse(Path.GetFileName(dir), out int pid) || Pagerd.Gone(pid))
					continue;
				var argv0 = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0')[0];
				var env = File.ReadAllText(Path.Combine(dir, "environ")).Split('\0');
				if (names.Contains(Path.GetFileName(argv0)) && env.Contains($"PAGERDIR={d.Root}"))
					pids.Add(pid);
			}
			catch (Exception e) when (e is IOException or UnauthorizedAccessException)
			{
				// Another user's, or it ended while being looked at.
			}
		pids.Sort();
		Assert.Equal(names.Length, pids.Count);
		return pids;
	}

	/// Only what the dead pagerd had is made again: a map removed before
	/// the death stays removed.
	[Fact]
	public void RemovedMapStaysRemoved()
	{
		New("a", 8192, "source=zero");
		New("b", 8192, "source=zero");
		d.Ctl("rm a");
		d.Kill();
		d.Restart();
		Assert.Equal(["b"], d.Ctl("ls").Select(l => l.Split(' ')[0]));
	}

	/// A keeper killed is started again and given every map: the next
	/// restart still loses nothing.
	[Fact]
	public void KeeperThatDiesIsReplaced()
	{
		New("m", 64 << 10, "source=zero");
		var r = Cmd.Run("mapctl", ["write", "m", "0"], "mine"u8.ToArray(), Env);
		Assert.True(r.Code == 0, r.Err);
		d.KillKeeper();
		Cmd.WaitFor(() => d.Log.Contains("keeper: gone; another keeps every map now"), "a new keeper");
		d.Kill();
		d.Restart();
		Assert.Equal("mine"u8.ToArray(), Cat("m", "0", "4"));
		Assert.Equal(1, d.Stat("m", "dirty"));
	}

	/// A keeper answers give only after taking everything sent on its
	/// other connections: the lines of a pagerd killed just after keeping
	/// its maps are not overtaken by the next pagerd's give.
	[Fact]
	public void KeeperGivesEverythingSentBeforeTheGive()
	{
		New("m", 8192, "source=zero");
		const int n = 64;
		var keys = Enumerable.Range(0, n).Select(i => $"test/{i}").ToList();
		static void Say(int fd, string line, int passFd = -1) =>
			Kernel.UnixSocket.Send(fd, Encoding.UTF8.GetBytes(line + "\n"), passFd);
		int first = Kernel.UnixSocket.Connect(Dir.Keeper(d.Root));
		int second = -1;
		try
		{
			foreach (var k in keys)
			{
				int fd = Kernel.Posix.MemfdCreate(k);
				Say(first, KeepLine.Keep(k, ""), fd);
				Kernel.Posix.Close(fd);
			}
			second = Kernel.UnixSocket.Connect(Dir.Keeper(d.Root));
			Say(second, KeepLine.Give);
			var given = new List<string>();
			var fds = new List<int>();
			var lines = new LineBuffer();
			var buf = new byte[16 << 10];
			for (bool end = false; !end;)
			{
				Assert.True(Kernel.Posix.Poll(second, Kernel.Posix.POLLIN, (int)Cmd.Timeout.TotalMilliseconds), "no answer to give");
				int got = Kernel.UnixSocket.Receive(second, buf, fds);
				Assert.True(got > 0, "the keeper closed before end");
				lines.Feed(buf.AsSpan(0, got), l =>
				{
					var m = KeepLine.Parse(l);
					end |= m.Verb == "end";
					if (m.Verb == "kept")
						given.Add(m.Key);
				}, e => Assert.Fail(e));
			}
			fds.ForEach(Kernel.Posix.Close);
			Assert.Equal(keys.Order(StringComparer.Ordinal), given.Where(k => k.StartsWith("test/")).Order(StringComparer.Ordinal));
			foreach (var k in keys)
				Say(first, KeepLine.Drop(k));
		}
		finally
		{
			Kernel.Posix.Close(first);
			if (second >= 0)
				Kernel.Posix.Close(second);
		}
	}

	/// The keeper holds nothing of pagerd's but the maps: a pipe reading
	/// pagerd's output ends when pagerd is killed.
	[Fact]
	public void OutputEndsWithPagerd()
	{
		var root = Path.Combine(tmp, "piped");
		var sh = Bg("/bin/sh", "-c", $"pagerd -f -F -d {root} 2>&1 | cat");
		int pagerd = 0;
		Cmd.WaitFor(() => (pagerd = Pagerd.PeerPid(Dir.Socket(root))) != 0, "the piped pagerd to serve");
		int keeper = 0;
		Cmd.WaitFor(() => (keeper = Pagerd.PeerPid(Dir.Keeper(root))) != 0, "its keeper");
		try
		{
			Kernel.Posix.Kill(pagerd, Kernel.Posix.SIGKILL);
			Assert.True(sh.WaitForExit((int)Cmd.Timeout.TotalMilliseconds), "the pipe from pagerd never ended");
		}
		finally
		{
			Kernel.Posix.Kill(keeper, Kernel.Posix.SIGKILL);
		}
	}

	/// pagerd stopped (SIGTERM) with pages it cannot write back (no
	/// pager) leaves them, and every map, with its keeper: the next
	/// pagerd has them, dirty, and writes them.
	[Fact]
	public void StopWithUnwrittenPagesLeavesThemWithTheKeeper()
	{
		New("m", 64 << 10);
		var first = new Pager();
		using (new FifoPager(d, "m", first.Answer))
		{
			var r = Cmd.Run("mapctl", ["write", "m", "4100"], "not yet written"u8.ToArray(), Env);
			Assert.True(r.Code == 0, r.Err);
		}
		Cmd.WaitFor(() => d.Get("m", "pager") == "no", "the pager to be gone");
		Tmds.Linux.LibC.kill(d.Proc.Id, Kernel.Posix.SIGTERM);
		Assert.True(d.Proc.WaitForExit(30_000));
		Cmd.WaitFor(() => d.Log.Contains("map m: 1 dirty pages not written back before exit; the keeper holds them for the next pagerd"), "the log");
		Assert.NotEqual(0, d.KeeperPid());
		d.Restart();
		Assert.Equal(1, d.Stat("m", "dirty"));
		var second = new Pager { Acknowledge = true };
		using (new FifoPager(d, "m", second.Answer))
			Assert.Equal(0, Mapctl("sync", "m").Code);
		var want = Pattern(4096, 4096);
		"not yet written"u8.ToArray().CopyTo(want, 4);
		Assert.Equal(want, Assert.Single(second.Writes).Bytes);
	}

	/// pagerd stopped (SIGTERM) lets its keeper go, and the namespace
	/// with it: the next pagerd starts empty.
	[Fact]
	public void CleanExitEndsTheKeeper()
	{
		New("m", 8192, "source=zero");
		int keeper = d.KeeperPid();
		Assert.NotEqual(0, keeper);
		Tmds.Linux.LibC.kill(d.Proc.Id, Kernel.Posix.SIGTERM);
		Assert.True(d.Proc.WaitForExit(10_000));
		Cmd.WaitFor(() => Pagerd.Gone(keeper), "the keeper to exit");
		d.Restart();
		Assert.Empty(d.Ctl("ls"));
	}
}
