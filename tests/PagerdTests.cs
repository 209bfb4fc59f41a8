using Pager.Client;
using Pager.Protocol;
using Pager.Sources;
using Xunit;

namespace Pager.Tests;

/// pagerd end to end: real userfaultfd, a real pagerd process, clients in
/// this process (touching memory from native code) and in children.
public sealed class PagerdTests : PagerdTest
{
	static byte[] ReadAll(Mapping m)
	{
		var b = new byte[m.Size];
		m.Read(0, b);
		return b;
	}

	[Theory]
	[InlineData(1)]
	[InlineData(4095)]
	[InlineData(4097)]
	[InlineData(3 * 4096 + 17)]
	[InlineData(5_000_000)]
	public void BuiltinFileIsByteExact(long size)
	{
		var src = RandomFile(size);
		d.Ctl($"new m {size} source=file:{src}");
		using var m = d.Attach("m");
		Assert.Equal(File.ReadAllBytes(src), ReadAll(m));
		Assert.Equal((size + 4095) / 4096, d.Stat("m", "resident"));
	}

	[Fact]
	public void BuiltinOffsetAndPastEndOfFile()
	{
		var src = RandomFile(10_000);
		d.Ctl($"new m 16k source=file:{src} offset=4096");
		using var m = d.Attach("m");
		var want = new byte[16384];
		File.ReadAllBytes(src).AsSpan(4096).CopyTo(want);
		Assert.Equal(want, ReadAll(m));
	}

	[Fact]
	public void PagerRepliesAreByteExact()
	{
		var src = RandomFile(1_000_003);
		d.Ctl("new m 1000003");
		using var p = new FifoPager(d, "m", r => [FifoPager.Line($"file m {r.Off} {r.Len} {src} {r.Off}")]);
		using var m = d.Attach("m");
		Assert.Equal(File.ReadAllBytes(src), ReadAll(m));
		Assert.Equal(245, p.Count); // one request a page, none twice
	}

	[Fact]
	public void InlineDataInPiecesIsByteExact()
	{
		long size = 64 * 4096 + 100;
		d.Ctl($"new m {size}");
		using var p = new FifoPager(d, "m", r =>
		{
			var b = new byte[Math.Min(r.Len, size - r.Off)];
			Pattern.Fill(r.Off, b);
			return Format.DataFrames("m", r.Off, b);
		});
		using var m = d.Attach("m");
		var got = ReadAll(m);
		Assert.Equal(-1, Pattern.Check(0, got));
	}

	[Fact]
	public void TwoClientsShareOneMap()
	{
		var src = RandomFile(64 * 4096);
		d.Ctl($"new m {64 * 4096}");
		using var p = new FifoPager(d, "m", r => [FifoPager.Line($"file m {r.Off} {r.Len} {src} {r.Off}")]);
		using var a = d.Attach("m");
		using var b = d.Attach("m");
		var bytes = File.ReadAllBytes(src);
		Assert.Equal(bytes, ReadAll(a));
		Assert.Equal(bytes, ReadAll(b));
		Assert.Equal(64, p.Count); // b found every page a had filled
		a.Write(100, "hello"u8);
		var seen = new byte[5];
		b.Read(100, seen);
		Assert.Equal("hello"u8.ToArray(), seen);
	}

	[Fact]
	public void ConcurrentFaultsOnOnePageMakeOneRequest()
	{
		var gate = new ManualResetEventSlim();
		d.Ctl("new m 1m");
		using var p = new FifoPager(d, "m", r =>
		{
			gate.Wait(Cmd.Timeout); // hold the reply until every thread waits
			return [FifoPager.Line($"zero m {r.Off} {r.Len}")];
		});
		using var m = d.Attach("m");
		var threads = Enumerable.Range(0, 8).Select(i => new Thread(() =>
		{
			var b = new byte[1];
			m.Read(8192 + i, b);
		})).ToList();
		threads.ForEach(t => t.Start());
		Cmd.WaitFor(() => d.Stat("m", "faults") >= 8, "eight faults");
		Assert.Equal(1, d.Stat("m", "requests"));
		Assert.Equal(8, d.Stat("m", "waiting"));
		gate.Set();
		threads.ForEach(t => Assert.True(t.Join(Cmd.Timeout)));
		Assert.Single(p.Seen);
		Assert.Equal(0, d.Stat("m", "waiting"));
	}

	[Fact]
	public void ReadAheadAndUnaskedPrefetch()
	{
		var src = RandomFile(1 << 20);
		d.Ctl("new m 1m");
		// Answer each request with 16 pages, and the first with the last
		// page of the map as well, unasked.
		bool first = true;
		using var p = new FifoPager(d, "m", r =>
		{
			var l = new List<byte[]> { FifoPager.Line($"file m {r.Off} {Math.Min(65536, (1 << 20) - r.Off)} {src} {r.Off}") };
			if (first)
				l.Add(FifoPager.Line($"file m {(1 << 20) - 4096} 4096 {src} {(1 << 20) - 4096}"));
			first = false;
			return l;
		});
		using var m = d.Attach("m");
		// Front to back, page by page: the pager's read-ahead looks forward.
		var b = new byte[1 << 20];
		for (int off = 0; off < b.Length; off += 4096)
			m.Read(off, b.AsSpan(off, 4096));
		Assert.Equal(File.ReadAllBytes(src), b);
		Assert.Equal(16, p.Count);
		Assert.Equal(256, d.Stat("m", "resident"));
	}

	[Fact]
	public void MapReadAheadWidensRequests()
	{
		d.Ctl("new m 1m readahead=64k");
		using var p = new FifoPager(d, "m", r => [FifoPager.Line($"zero m {r.Off} {r.Len}")]);
		using var m = d.Attach("m");
		ReadAll(m);
		Assert.All(p.Seen, r => Assert.Equal(65536, r.Len));
		Assert.Equal(16, p.Count);
		Assert.All(p.Seen, r => Assert.Equal("1048576", r.Key("size")));
	}

	[Theory]
	[InlineData("bogus m 0 4096", "unknown verb 'bogus'")]
	[InlineData("zero m 0x1g 4096", "bad offset '0x1g'")]
	[InlineData("zero m 100 4096", "not page-aligned")]
	[InlineData("zero m 1048576 4096", "outside map m")]
	[InlineData("zero other 0 4096", "names map 'other'")]
	[InlineData("sync m 3", "not a reply")]
	[InlineData("file m 0 4096", "file needs")]
	public void MalformedRepliesAreRefusedAndServingGoesOn(string bad, string why)
	{
		var src = RandomFile(1 << 20);
		d.Ctl("new m 1m");
		using var p = new FifoPager(d, "m", r => [FifoPager.Line(bad), FifoPager.Line($"file m {r.Off} {r.Len} {src} {r.Off}")]);
		using var m = d.Attach("m");
		Assert.Equal(File.ReadAllBytes(src), ReadAll(m));
		var errs = d.Ctl("err m");
		Assert.Contains(errs, e => e.Contains(why) && e.Contains(bad.Split(' ')[0]));
	}

	/// A pager that reads ahead past the map's end (a data or file reply
	/// longer than what is left) supplies the pages inside it.
	[Theory]
	[InlineData("data")]
	[InlineData("file")]
	[InlineData("zero")]
	public void ReplyCrossingTheEndFillsThePagesInside(string verb)
	{
		var src = RandomFile(1 << 20);
		var bytes = File.ReadAllBytes(src);
		d.Ctl("new m 100000");
		using var p = new FifoPager(d, "m", r => verb switch
		{
			"data" => [FifoPager.Line($"data m {r.Off} 65536"), bytes.AsSpan((int)r.Off, 65536).ToArray()],
			"file" => [FifoPager.Line($"file m {r.Off} 65536 {src} {r.Off}")],
			_ => [FifoPager.Line($"zero m {r.Off} 65536")],
		});
		using var m = d.Attach("m");
		var got = new byte[100000 - 90112];
		m.Read(90112, got);
		Assert.Equal(verb == "zero" ? new byte[got.Length] : bytes.AsSpan(90112, got.Length).ToArray(), got);
		Assert.Empty(d.Ctl("err m"));
	}

	[Fact]
	public void OverlongLineIsRefused()
	{
		d.Ctl("new m 64k");
		var junk = new string('x', 5000);
		using var p = new FifoPager(d, "m", r => [FifoPager.Line(junk), FifoPager.Line($"zero m {r.Off} {r.Len}")]);
		using var m = d.Attach("m");
		Assert.Equal(new byte[65536], ReadAll(m));
		Assert.Contains(d.Ctl("err m"), e => e.Contains("longer than 4096"));
	}

	[Fact]
	public void ShortPayloadNeverReachesAClient()
	{
		d.Ctl("new m 64k timeout=1s policy=zero");
		// The writer closes fill after a data header and 100 of 4096 bytes.
		using (var w = new FileStream(d.Fill("m"), FileMode.Open, FileAccess.Write))
		{
			w.Write(FifoPager.Line("data m 0 4096"));
			w.Write(Enumerable.Repeat((byte)0xAA, 100).ToArray());
		}
		Cmd.WaitFor(() => d.Ctl("err m").Any(e => e.Contains("payload short: 100 of 4096")), "the short payload to be reported");
		Assert.Equal(0, d.Stat("m", "resident"));
		// Serving goes on: with no pager, the timeout zero-fills.
		using var m = d.Attach("m");
		Assert.Equal(new byte[4096], ReadAll(m)[..4096]);
	}

	[Fact]
	public void OverlappingPiecesAreRefused()
	{
		d.Ctl("new m 64k");
		using (var w = new FileStream(d.Fill("m"), FileMode.Open, FileAccess.Write))
		{
			w.Write(Format.Bytes(new Msg { Verb = Verb.Data, Map = "m", Off = 0, Len = 3000, Payload = new byte[3000] }));
			w.Write(Format.Bytes(new Msg { Verb = Verb.Data, Map = "m", Off = 2000, Len = 2096, Payload = new byte[2096] }));
		}
		Cmd.WaitFor(() => d.Ctl("err m").Any(e => e.Contains("overlaps")), "the overlap to be reported");
		Assert.Equal(0, d.Stat("m", "resident"));
	}

	[Fact]
	public void TwoWritersShareOneFill()
	{
		long size = 256 * 4096;
		d.Ctl($"new m {size}");
		// Two writers at once, each sending pattern data for half the map in
		// frames of at most PIPE_BUF, unasked.
		var writers = new[] { 0L, size / 2 }.Select(start => new Thread(() =>
		{
			using var w = new FileStream(d.Fill("m"), FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 0);
			var b = new byte[size / 2];
			Pattern.Fill(start, b);
			foreach (var f in Format.DataFrames("m", start, b))
				w.Write(f);
		})).ToList();
		writers.ForEach(t => t.Start());
		writers.ForEach(t => Assert.True(t.Join(Cmd.Timeout)));
		Cmd.WaitFor(() => d.Stat("m", "resident") == 256, "every page to be filled");
		using var m = d.Attach("m");
		Assert.Equal(-1, Pattern.Check(0, ReadAll(m)));
		Assert.Equal(0, d.Stat("m", "errors"));
	}

	[Fact]
	public void PagerThatVanishesIsReplacedAndNothingIsLost()
	{
		var src = RandomFile(16 * 4096);
		d.Ctl($"new m {16 * 4096}");
		var first = new FifoPager(d, "m", _ => null); // reads requests, answers none
		using var m = d.Attach("m");
		var reader = new Thread(() => m.Read(0, new byte[16 * 4096]));
		reader.Start();
		Cmd.WaitFor(() => first.Count > 0, "the first pager to get a request");
		first.Dispose();
		Cmd.WaitFor(() => d.Get("m", "pager") == "no", "pagerd to see the pager go");
		using var second = new FifoPager(d, "m", r => [FifoPager.Line($"file m {r.Off} {r.Len} {src} {r.Off}")]);
		Assert.True(reader.Join(Cmd.Timeout));
		Assert.Equal(File.ReadAllBytes(src), ReadAll(m));
	}

	/// A pager leaves with the fault FIFO full and a message cut short in
	/// it, and the next opens fault at once, before or after pagerd sees
	/// the first go. Either way it reads whole messages: the rest of the
	/// first stream (then its end and a stream of its own), never the next
	/// stream spliced onto the cut message. The race is run many times.
	[Fact]
	public void PagerThatComesAsOneGoesNeverGetsASplicedStream()
	{
		const long size = 1 << 30, asked = size / (256 << 10);
		d.Ctl($"new m {size}");
		Assert.Equal(0, Mapctl("prefetch", "m").Code);
		for (int round = 0; round < 20; round++)
		{
			int full = Streams.OpenFifo(d.Fault("m"), Kernel.Posix.O_RDONLY | Kernel.Posix.O_NONBLOCK);
			Cmd.WaitFor(() => d.Stat("m", "backlog") > 0, "pagerd to fill the fault FIFO");
			Kernel.Posix.Close(full);
			using (var next = new FifoPager(d, "m", _ => null))
				Cmd.WaitFor(() => next.Failed || next.Seen.Select(r => r.Off).Distinct().Count() == asked, "the next pager to get every request");
			Cmd.WaitFor(() => d.Get("m", "pager") == "no", "pagerd to see the pager go");
		}
		Assert.Equal(asked, d.Stat("m", "outstanding"));
	}

	[Fact]
	public void ClientThatExitsMidFaultLeavesPagerdHealthy()
	{
		d.Ctl("new m 1m");
		using var p = new FifoPager(d, "m", _ => null);
		var cat = Cmd.Start("mapctl", ["-d", d.Root, "cat", "m"]);
		Cmd.WaitFor(() => p.Count > 0 && d.Stat("m", "waiting") == 1, "the child's fault");
		cat.Kill();
		Assert.True(cat.WaitForExit(10_000));
		Cmd.WaitFor(() => d.Stat("m", "clients") == 0 && d.Stat("m", "waiting") == 0, "pagerd to drop the client");
		// The late reply fills the page for whoever comes next.
		using var w = new FileStream(d.Fill("m"), FileMode.Open, FileAccess.Write);
		w.Write(FifoPager.Line("zero m 0 1048576"));
		w.Flush();
		Cmd.WaitFor(() => d.Stat("m", "resident") == 256, "the late reply");
		Assert.Equal(0, d.Stat("m", "errors"));
	}

	[Fact]
	public void ErrorReplyRaisesSigbusAndIsReported()
	{
		d.Ctl("new m 64k");
		using var p = new FifoPager(d, "m", r => [FifoPager.Line($"error m {r.Off} {r.Len} disk on fire")]);
		var r = Cmd.Run("mapctl", ["-d", d.Root, "cat", "m"]);
		Assert.Equal(128 + 7, r.Code); // SIGBUS, as a failed read of a file mapping
		Assert.Empty(r.Out);
		Assert.Contains(d.Ctl("err m"), e => e.Contains("pager: disk on fire") && e.Contains(" 0 4096 "));
	}

	[Fact]
	public void ErrorsArriveOnTheControlConnection()
	{
		d.Ctl("new m 64k policy=zero");
		using var p = new FifoPager(d, "m", r => [FifoPager.Line($"error m {r.Off} {r.Len} cable cut")]);
		using var m = d.Attach("m");
		var notes = new System.Collections.Concurrent.ConcurrentQueue<string>();
		m.Note += notes.Enqueue;
		var b = new byte[4096];
		m.Read(0, b);
		Assert.Equal(new byte[4096], b); // policy=zero
		Cmd.WaitFor(() => !notes.IsEmpty, "the note");
		Assert.StartsWith("error m 0 4096 pager: cable cut", notes.First());
	}

	[Fact]
	public void TimeoutPolicies()
	{
		d.Ctl("new z 64k timeout=200ms policy=zero");
		d.Ctl("new b 64k timeout=200ms policy=sigbus");
		using (var z = d.Attach("z"))
			Assert.Equal(new byte[65536], ReadAll(z));
		Assert.Contains(d.Ctl("err z"), e => e.Contains("timeout"));
		var r = Cmd.Run("mapctl", ["-d", d.Root, "cat", "b"]);
		Assert.Equal(128 + 7, r.Code);
		Assert.Contains(d.Ctl("err b"), e => e.Contains("timeout"));
	}

	[Fact]
	public void PuntFallsBackToTheBuiltinSource()
	{
		var src = RandomFile(64 * 1024);
		d.Ctl($"new m 64k source=file:{src}");
		using var p = new FifoPager(d, "m", r => [FifoPager.Line($"punt m {r.Off} {r.Len}")]);
		using var m = d.Attach("m");
		Assert.Equal(File.ReadAllBytes(src), ReadAll(m));
		Assert.Equal(16, p.Count);
	}

	[Fact]
	public void LostPagerdFailsFaultsLoudlyNotWithZeros()
	{
		d.Ctl("new m 64k");
		var env = new Dictionary<string, string> { ["PAGER_GRACE"] = "500ms" };
		var cat = Cmd.Start("mapctl", ["-d", d.Root, "cat", "m"], env);
		Cmd.WaitFor(() => d.Stat("m", "waiting") == 1, "the child's fault");
		d.Kill();
		var err = new StringWriter();
		var reading = new Thread(() => err.Write(cat.StandardError.ReadToEnd()));
		reading.Start();
		Assert.True(cat.WaitForExit(30_000));
		Assert.True(reading.Join(Cmd.Timeout));
		Assert.Equal(128 + 7, cat.ExitCode);
		Assert.Contains("lost pagerd", err.ToString());
	}

	[Fact]
	public void NamespaceWorksWithTheShell()
	{
		var src = RandomFile(20000);
		var env = d.Env;
		Assert.Equal(0, Cmd.Sh($"echo new w 20000 source=file:{src} >$PAGERDIR/ctl", env).Code);
		Cmd.WaitFor(() => File.Exists(Path.Combine(d.Root, "w", "status")), "the map's directory");
		var r = Cmd.Sh("ls $PAGERDIR/w && cat $PAGERDIR/w/status", env);
		Assert.True(r.Code == 0, r.Err);
		Assert.Contains("fault", r.Text);
		Assert.Contains("size 20000", r.Text);
		Assert.Contains("pager no", r.Text);
		// A map's own ctl takes messages without the name.
		Cmd.Sh("echo prefetch 0 8192 >$PAGERDIR/w/ctl", env);
		Cmd.WaitFor(() => d.Stat("w", "resident") == 2, "the prefetch");
		Assert.Equal(File.ReadAllBytes(src), Cmd.Run("mapctl", ["-d", d.Root, "cat", "w"]).Out);
		Cmd.Sh("echo rm w >$PAGERDIR/ctl", env);
		Cmd.WaitFor(() => !Directory.Exists(Path.Combine(d.Root, "w")), "the map's directory to go");
	}

	[Fact]
	public void SigtermRemovesTheNamespace()
	{
		d.Ctl("new m 64k");
		Assert.True(File.Exists(d.Fault("m")));
		Tmds.Linux.LibC.kill(d.Proc.Id, 15);
		Assert.True(d.Proc.WaitForExit(10_000));
		Assert.Equal(0, d.Proc.ExitCode);
		Assert.False(Directory.Exists(d.Root));
	}

	/// A SIGTERM as soon as pagerd serves is a clean exit like any other:
	/// status 0, and the namespace removed (the keeper's socket gone with
	/// it, the keeper having been waited for).
	[Fact]
	public void SigtermAtOnceIsACleanExit()
	{
		var root = Path.Combine(tmp, "ns");
		var p = Bg("pagerd", "-f", "-F", "-d", root);
		Cmd.WaitFor(() => Pagerd.PeerPid(Dir.Socket(root)) != 0, "pagerd to serve");
		try
		{
			Tmds.Linux.LibC.kill(p.Id, Kernel.Posix.SIGTERM);
			Assert.True(p.WaitForExit((int)Cmd.Timeout.TotalMilliseconds), "pagerd did not exit");
			Assert.True(p.ExitCode == 0, $"pagerd exited {p.ExitCode}: {Errors(p)}");
			if (Directory.Exists(root))
				Assert.Fail($"{root} left, holding: {string.Join(' ', Directory.GetFileSystemEntries(root).Select(Path.GetFileName))}");
		}
		finally
		{
			if (Pagerd.PeerPid(Dir.Keeper(root)) is var keeper and not 0)
				Kernel.Posix.Kill(keeper, Kernel.Posix.SIGKILL);
		}
	}

	[Fact]
	public unsafe void FixedAddressThatIsTakenIsAClearError()
	{
		d.Ctl("new m 64k source=zero");
		using var a = d.Attach("m");
		var e = Assert.ThrowsAny<Exception>(() =>
			Mapping.Attach("m", new AttachOptions { Root = d.Root, Address = (ulong)a.Pointer }));
		Assert.Contains("address is taken", e.Message);
		Assert.Equal(1, d.Stat("m", "clients"));
	}

	[Fact]
	public void ReadOnlyAttachCannotWrite()
	{
		d.Ctl("new m 64k source=zero mode=ro");
		using var a = d.Attach("m");
		Assert.True(a.ReadOnly);
		Assert.Equal(new byte[65536], ReadAll(a));
	}

	[Fact]
	public void BadControlMessagesAreNamed()
	{
		Assert.Contains("unknown option 'colour'", Assert.Throws<PagerException>(() => d.Ctl("new m 64k colour=red")).Message);
		Assert.Contains("bad size 'lots'", Assert.Throws<PagerException>(() => d.Ctl("new m lots")).Message);
		Assert.Contains("bad map name", Assert.Throws<PagerException>(() => d.Ctl("new ../x 64k")).Message);
		Assert.Contains("no map 'nope'", Assert.Throws<PagerException>(() => d.Ctl("stat nope")).Message);
		Assert.Contains("unknown control message", Assert.Throws<PagerException>(() => d.Ctl("frobnicate")).Message);
		d.Ctl("new m 64k");
		Assert.Contains("exists", Assert.Throws<PagerException>(() => d.Ctl("new m 64k")).Message);
	}
}
