using System.Net.Sockets;
using Pager.Protocol;
using Xunit;

namespace Pager.Tests;

/// One peer never stalls the others: whatever one connection, pager or
/// map does, a second map keeps serving byte-exact meanwhile.
public sealed class StallTests : PagerdTest
{
	/// A healthy map, read whole through a fresh attachment.
	void Healthy(string src)
	{
		d.Ctl("evict served");
		using var m = d.Attach("served", readOnly: true);
		var b = new byte[m.Size];
		m.Read(0, b);
		Assert.Equal(File.ReadAllBytes(src), b);
	}

	string Served()
	{
		var src = RandomFile(1 << 20);
		d.Ctl($"new served 1m source=file:{src}");
		return src;
	}

	static Socket Connect(string root)
	{
		var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
		s.Connect(new UnixDomainSocketEndPoint(Dir.Socket(root)));
		return s;
	}

	/// Peers that send requests and never read their replies: each is
	/// dropped once its unread replies pass the bound, and meanwhile the
	/// healthy map serves as if they were not there.
	[Fact]
	public void PeersThatNeverReadAreDropped()
	{
		var src = Served();
		var request = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("stat served\n", 20_000)));
		var peers = Enumerable.Range(0, 6).Select(_ => Connect(d.Root)).ToList();
		try
		{
			foreach (var p in peers)
			{
				p.SendTimeout = (int)Cmd.Timeout.TotalMilliseconds;
				Task.Run(() => p.Send(request));
			}
			Healthy(src);
			Cmd.WaitFor(() => d.Log.Split('\n').Count(l => l.Contains("dropped a peer: it left more than 4 MiB of replies unread")) == peers.Count, "pagerd to drop every peer that does not read");
			Healthy(src);
			// What the dropped peers find: the replies that fitted, then the end.
			foreach (var p in peers)
			{
				p.ReceiveTimeout = (int)Cmd.Timeout.TotalMilliseconds;
				var buf = new byte[1 << 16];
				while (p.Receive(buf) > 0)
				{
				}
			}
		}
		finally
		{
			peers.ForEach(p => p.Dispose());
		}
	}

	/// A descriptor sent with one line is that line's: a later uffd line
	/// without one is refused, not handed the old descriptor.
	[Fact]
	public void DescriptorOfAnEarlierLineIsNotUsedByALaterOne()
	{
		var src = Served();
		using var s = Connect(d.Root);
		using var pipe = new System.IO.Pipes.AnonymousPipeServerStream();
		var fd = (int)pipe.ClientSafePipeHandle.DangerousGetHandle();
		Kernel.UnixSocket.Send((int)s.Handle, "ls\n"u8, fd);
		var reply = new byte[4096];
		s.ReceiveTimeout = (int)Cmd.Timeout.TotalMilliseconds;
		Assert.StartsWith("ok ", System.Text.Encoding.ASCII.GetString(reply, 0, s.Receive(reply)));
		s.Send("uffd served base=0x1000\n"u8.ToArray());
		var text = System.Text.Encoding.ASCII.GetString(reply, 0, s.Receive(reply));
		Assert.Equal("err uffd: no descriptor came with the message\n", text);
		Healthy(src);
	}

	/// rm force of a map a client is blocked on: the client's thread gets
	/// SIGBUS instead of waiting for ever, and reads nothing.
	[Fact]
	public void RemovingAMapReleasesItsWaitingClients()
	{
		var src = Served();
		d.Ctl("new m 64k");
		var cat = Bg("mapctl", "cat", "m");
		Cmd.WaitFor(() => d.Stat("m", "waiting") == 1, "the client to wait on the map");
		d.Ctl("rm m force");
		Assert.True(cat.WaitForExit(Cmd.Timeout), "the client is still waiting on a removed map");
		Assert.NotEqual(0, cat.ExitCode);
		Healthy(src);
	}

	/// A FIFO named as a map's source or in a file reply would block
	/// pagerd in open(2) until someone wrote to it: it is refused as not a
	/// regular file, and the other map serves meanwhile.
	[Fact]
	public void FifoInPlaceOfAFileIsRefused()
	{
		var src = Served();
		var fifo = Path.Combine(tmp, "fifo");
		Kernel.Posix.Mkfifo(fifo, 0x180);
		d.Ctl($"new bysource 64k source=file:{fifo} timeout=1s policy=zero");
		Assert.Equal(new byte[4096], Cat("bysource", "0", "4096"));
		Assert.Contains(d.Ctl("err bysource"), e => e.Contains($"{fifo} (not a regular file)"));
		Healthy(src);

		d.Ctl("new byreply 64k timeout=1s policy=zero");
		using var p = new FifoPager(d, "byreply", r => [FifoPager.Line($"file byreply {r.Off} {r.Len} {fifo} 0")]);
		Assert.Equal(new byte[4096], Cat("byreply", "0", "4096"));
		Assert.Contains(d.Ctl("err byreply"), e => e.Contains($"{fifo} (not a regular file)"));
		Healthy(src);
	}

	/// A line of 8 MB on the socket is answered err and skipped; the
	/// connection goes on.
	[Fact]
	public void OverlongSocketLineIsAnswered()
	{
		var src = Served();
		using var s = Connect(d.Root);
		s.SendTimeout = s.ReceiveTimeout = (int)Cmd.Timeout.TotalMilliseconds;
		var line = new byte[8 << 20];
		Array.Fill(line, (byte)'x');
		s.Send(line);
		s.Send("\nls\n"u8.ToArray());
		var reply = new List<byte>();
		var buf = new byte[4096];
		while (reply.Count(b => b == '\n') < 3)
			reply.AddRange(buf[..s.Receive(buf)]);
		Assert.Equal("err control line longer than 4096 bytes\nok 1\nserved 1048576 0 0 no 0 0\n", System.Text.Encoding.ASCII.GetString([.. reply]));
		Healthy(src);
	}

	/// A pager that holds its fault FIFO open and never reads it, under
	/// dirtylimit=4k: pagerd sends at most 16 MiB of writes; the rest
	/// stay dirty, and a sync then waits without sending more. Once a pager
	/// that answers comes, the sync goes through with every page.
	[Fact]
	public void WritesToAPagerThatNeverReadsAreBounded()
	{
		var src = Served();
		const int size = 32 << 20;
		d.Ctl($"new w {size} source=zero dirtylimit=4k");
		using var m = d.Attach("w");
		m.Read(0, new byte[size]); // every page there: writes need no pager
		int stuck = Streams.OpenFifo(d.Fault("w"), Tmds.Linux.LibC.O_RDONLY | Kernel.Posix.O_NONBLOCK);
		try
		{
			WaitPager("w");
			var page = new byte[4096];
			for (long off = 0; off < size; off += 4096)
			{
				page[0] = (byte)(off >> 12);
				m.Write(off, page);
			}
			Assert.InRange(d.Stat("w", "backlog"), 1, (16 << 20) + 4096 * 100);
			Assert.InRange(d.Stat("w", "writing"), 1, (16 << 20) / 4096);
			Assert.True(d.Stat("w", "dirty") >= size / 4096 - (16 << 20) / 4096);
			Healthy(src);
		}
		finally
		{
			Kernel.Posix.Close(stuck);
		}
		var store = new System.Collections.Concurrent.ConcurrentDictionary<long, byte>();
		using var p = new FifoPager(d, "w", r => r.Verb switch
		{
			Verb.Write => Stored(r),
			Verb.Sync => [FifoPager.Line($"synced w {r.Seq}")],
			_ => null,
		});
		IEnumerable<byte[]> Stored(Msg r)
		{
			for (long o = 0; o < r.Len; o += 4096)
				store[r.Off + o] = r.Payload![o];
			return [FifoPager.Line($"ok w {r.Off} {r.Len}")];
		}
		var sync = Mapctl("sync", "w");
		Assert.True(sync.Code == 0, sync.Err);
		Assert.Equal(0, d.Stat("w", "dirty"));
		Assert.Equal(size / 4096, store.Count);
		Assert.All(store, kv => Assert.Equal((byte)(kv.Key >> 12), kv.Value));
	}

	/// A prefetch of a huge sparse map with no pager asks for nothing and
	/// says why; one of a part of it goes ahead.
	[Fact]
	public void PrefetchOfAHugeMapIsRefused()
	{
		var src = Served();
		d.Ctl("new huge 4t");
		var r = Mapctl("prefetch", "huge");
		Assert.Equal(1, r.Code);
		Assert.Contains("more than 1g of map huge is missing, the most one prefetch asks for; prefetch it in parts", r.Err);
		Assert.Equal(0, d.Stat("huge", "outstanding"));
		Assert.Equal(0, Mapctl("prefetch", "huge", "0", "64m").Code);
		Assert.Equal(64 << 20 >> 18, d.Stat("huge", "outstanding"));
		Healthy(src);
	}

	/// Maps until pagerd's descriptors run low: the next new is refused
	/// saying so, well before the limit, and pagerd goes on serving, taking
	/// connections and clients, and making maps again once some are gone.
	[Fact]
	public void RunningLowOnDescriptorsIsAClearError()
	{
		var src = Served();
		Assert.Equal(0, Cmd.Run("prlimit", "--pid", $"{d.Proc.Id}", "--nofile=600:600").Code);
		string? refused = null;
		int made = 0;
		for (; made < 600 && refused is null; made++)
			try
			{
				d.Ctl($"new m{made} 64k source=zero");
			}
			catch (Client.PagerException e)
			{
				refused = e.Message;
			}
		Assert.NotNull(refused);
		Assert.Matches(@"new m\d+: pagerd has \d+ of its 600 descriptors open \(ulimit -n\) and keeps 75 free; remove maps or raise the limit", refused);
		Assert.InRange(made, 50, 150);
		Healthy(src);
		Assert.Equal(new byte[65536], Cat("m0"));
		d.Ctl("rm m0");
		d.Ctl("rm m1");
		d.Ctl("new again 64k source=zero");
		Assert.Equal(new byte[4096], Cat("again", "0", "4096"));
	}

	/// A built-in source that never answers (here a file in another
	/// pagerd's file view whose map has no pager), or a file reply naming
	/// it, holds up its own map only; once it fails, the read is that
	/// map's error.
	[Fact]
	public void ASourceThatNeverAnswersStallsOnlyItsMap()
	{
		var src = Served();
		var other = Keep(new Pagerd());
		other.Ctl("new never 64k");
		other.Ctl("new never2 64k");
		var never = Path.Combine(Dir.Files(other.Root), "never");
		d.Ctl($"new m 64k source=file:{never}");
		var cat = Bg("mapctl", "cat", "m", "0", "4096");
		Cmd.WaitFor(() => other.Stat("never", "filewaiting") == 1, "the source's read to wait");
		Healthy(src);
		Assert.Equal(1, d.Stat("m", "waiting"));
		// The same for a file reply naming another such file. (Not the same
		// one: an open of it would wait in the kernel for the read in flight.)
		d.Ctl("new r 64k");
		using var pager = new FifoPager(d, "r", q => [FifoPager.Line($"file r {q.Off} {q.Len} {never}2 {q.Off}")]);
		var catr = Bg("mapctl", "cat", "r", "0", "4096");
		Cmd.WaitFor(() => other.Stat("never2", "filewaiting") == 1, "the file reply's read to wait");
		Healthy(src);
		other.Dispose();
		Assert.NotEqual(0, Streams.Exit(cat));
		Assert.NotEqual(0, Streams.Exit(catr));
		Assert.Contains(d.Ctl("err m"), e => e.Contains("source file:"));
		Assert.Contains(d.Ctl("err r"), e => e.Contains("file reply: "));
		Healthy(src);
	}

	/// Write-back to a built-in source that never answers (a file in
	/// another pagerd's file view whose pager takes writes and never
	/// acknowledges them: fdatasync waits for ever) holds up its own map
	/// only; once it fails, the sync says so.
	[Fact]
	public void ASourceThatNeverSyncsStallsOnlyItsMap()
	{
		var src = Served();
		var other = Keep(new Pagerd());
		other.Ctl("new slow 64k");
		using var deaf = new FifoPager(other, "slow", q => q.Verb == Verb.Read ? [FifoPager.Line($"zero slow {q.Off} {q.Len}")] : null);
		d.Ctl($"new m 64k source=file:{Path.Combine(Dir.Files(other.Root), "slow")}");
		var r = Cmd.Run("mapctl", ["write", "m", "0"], "stuck"u8.ToArray(), Env);
		Assert.True(r.Code == 0, r.Err);
		var sync = Bg("mapctl", "sync", "m");
		Cmd.WaitFor(() => deaf.Seen.Any(q => q.Verb == Verb.Write), "the source's write-back to wait");
		Together(() => // within its timeout, or the healthy map waited on the other's sync
		{
			Healthy(src);
			return true;
		});
		other.Dispose();
		Assert.NotEqual(0, Streams.Exit(sync));
		Assert.Contains(d.Ctl("err m"), e => e.Contains("source file:"));
		Healthy(src);
	}
}
