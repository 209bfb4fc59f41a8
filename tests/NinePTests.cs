using Pager.Kernel;
using Pager.NineP;
using Pager.Protocol;
using Tmds.Linux;
using Xunit;

namespace Pager.Tests;

/// The 9P client against a real diod.
public sealed class NinePTests : IDisposable
{
	readonly string dir;
	readonly Diod diod;

	public NinePTests()
	{
		dir = Path.Combine(Path.GetTempPath(), $"ninep-{Environment.ProcessId}-{Guid.NewGuid():N}");
		Directory.CreateDirectory(dir);
		diod = Diod.Start(dir);
	}

	public void Dispose()
	{
		diod.Dispose();
		Directory.Delete(dir, true);
	}

	/// A file of n known bytes in the export.
	byte[] MakeFile(string name, int n, int seed = 1)
	{
		var b = new byte[n];
		new Random(seed).NextBytes(b);
		var path = Path.Combine(dir, name);
		Directory.CreateDirectory(Path.GetDirectoryName(path)!);
		File.WriteAllBytes(path, b);
		return b;
	}

	RemoteFile Open(string name, NinePOptions? opt = null) => RemoteFile.Open(diod.Source(name), dir, opt);

	/// The file as diodcat, a client of its own, reads it.
	byte[] DiodCat(string name)
	{
		var r = Cmd.Run(Diod.CatExe, ["-t", "10", "-s", $"127.0.0.1:{diod.Port}", "-a", dir, name], null);
		Assert.True(r.Code == 0, $"diodcat: {r.Err}");
		return r.Out;
	}

	/// Compares with cmp(1): the file as diodcat reads it against want.
	void CmpDiodCat(string name, byte[] want)
	{
		var got = Path.Combine(dir, "..", $"{Path.GetFileName(dir)}.got");
		var exp = Path.Combine(dir, "..", $"{Path.GetFileName(dir)}.want");
		try
		{
			File.WriteAllBytes(got, DiodCat(name));
			File.WriteAllBytes(exp, want);
			var r = Cmd.Run("cmp", exp, got);
			Assert.True(r.Code == 0, $"cmp: {r.Text}{r.Err}");
		}
		finally
		{
			File.Delete(got);
			File.Delete(exp);
		}
	}

	string Refused => $"9p tcp!127.0.0.1!{diod.Port}: connection refused";

	[Theory]
	[InlineData(4093)]
	[InlineData(4096)]
	[InlineData(65512)]
	[InlineData(65536)]
	[InlineData(300_000)]
	[InlineData(4 << 20)]
	public void ReadsInChunks(int chunk)
	{
		var want = MakeFile("img", (3 << 20) + 123);
		using var f = Open("img");
		var got = new byte[want.Length];
		var buf = new byte[chunk];
		long off = 0;
		for (;;)
		{
			int n = f.Read(off, buf);
			Assert.True(n == Math.Min(chunk, want.Length - off), $"read at {off}: {n} bytes");
			if (n == 0)
				break;
			buf.AsSpan(0, n).CopyTo(got.AsSpan((int)off));
			off += n;
		}
		Assert.Equal(want.Length, off);
		Assert.True(want.AsSpan().SequenceEqual(got), "bytes differ");
	}

	[Fact]
	public void ReadsAtAndPastTheEnd()
	{
		var want = MakeFile("img", 10_000);
		using var f = Open("img");
		var buf = new byte[4096];
		Assert.Equal(1000, f.Read(9000, buf));
		Assert.True(want.AsSpan(9000).SequenceEqual(buf.AsSpan(0, 1000)));
		Assert.Equal(0, f.Read(10_000, buf));
		Assert.Equal(0, f.Read(1 << 30, buf));
	}

	[Fact]
	public void SizeIsTheFileSize()
	{
		MakeFile("img", 123_457);
		using var f = Open("img");
		Assert.Equal(123_457, f.Size);
		f.Write(200_000, new byte[] { 1 });
		Assert.Equal(200_001, f.Size);
	}

	[Fact]
	public void WritesScatteredRanges()
	{
		var want = MakeFile("img", 2 << 20);
		using var f = Open("img");
		var rng = new Random(7);
		// Some at the ends, some across message boundaries, one past the end.
		var ranges = new List<(long Off, int Len)> { (0, 1), (want.Length - 1, 1), (65_000, 70_000), (4096, 4096), (want.Length - 10, 30) };
		for (int i = 0; i < 40; i++)
			ranges.Add((rng.NextInt64(want.Length), rng.Next(1, 100_000)));
		foreach (var (off, len) in ranges)
		{
			var data = new byte[len];
			rng.NextBytes(data);
			f.Write(off, data);
			if (off + len > want.Length)
				Array.Resize(ref want, (int)(off + len));
			data.CopyTo(want.AsSpan((int)off));
		}
		f.Sync();
		Assert.Equal(want.Length, f.Size);
		CmpDiodCat("img", want);
		var back = new byte[want.Length];
		Assert.Equal(want.Length, f.Read(0, back));
		Assert.True(want.AsSpan().SequenceEqual(back), "read back differs");
	}

	[Fact]
	public void WriteLargerThanMsizeIsChunked()
	{
		var want = MakeFile("img", 3 << 20);
		// An 8k msize makes a 1m write take well over a hundred Twrites.
		using var f = Open("img", new NinePOptions { Msize = 8192 });
		var data = new byte[(1 << 20) + 3];
		new Random(3).NextBytes(data);
		f.Write(12_345, data);
		data.CopyTo(want, 12_345);
		f.Sync();
		CmpDiodCat("img", want);

		using var g = Open("img");
		var big = new byte[5 << 20];
		new Random(4).NextBytes(big);
		g.Write(1, big);
		Array.Resize(ref want, big.Length + 1);
		big.CopyTo(want, 1);
		g.Sync();
		CmpDiodCat("img", want);
	}

	[Fact]
	public void SyncSucceeds()
	{
		MakeFile("img", 4096);
		using var f = Open("img");
		f.Write(0, "hello"u8);
		f.Sync();
		f.Sync();
		Assert.Equal("hello"u8.ToArray(), File.ReadAllBytes(Path.Combine(dir, "img"))[..5]);
	}

	[Fact]
	public void WalksPathsDeeperThanOneTwalk()
	{
		// More than 16 elements needs more than one Twalk.
		var name = string.Join('/', Enumerable.Range(0, 20).Select(i => $"d{i}")) + "/img";
		var want = MakeFile(name, 5000);
		using var f = Open(name);
		var buf = new byte[5000];
		Assert.Equal(5000, f.Read(0, buf));
		Assert.Equal(want, buf);
	}

	[Fact]
	public void MissingPathIsNamed()
	{
		var e = Assert.Throws<NinePException>(() => Open("no/such.img"));
		Assert.Equal(Errno.ENOENT, e.Errno);
		Assert.Equal($"9p tcp!127.0.0.1!{diod.Port}: walk no/such.img: no such file or directory", e.Message);
	}

	[Fact]
	public void MissingDeepPathIsNamed()
	{
		MakeFile("a/img", 10);
		var name = string.Join('/', Enumerable.Range(0, 20).Select(i => $"d{i}")) + "/img";
		var e = Assert.Throws<NinePException>(() => Open("a/" + name));
		Assert.Equal(Errno.ENOENT, e.Errno);
		Assert.Contains("walk a/" + name + ": no such file or directory", e.Message);
	}

	[Fact]
	public void BadExportIsNamed()
	{
		MakeFile("img", 10);
		var e = Assert.Throws<NinePException>(() => RemoteFile.Open(diod.Source("img"), "/no/such/export"));
		Assert.Equal($"9p tcp!127.0.0.1!{diod.Port}: attach '/no/such/export': operation not permitted", e.Message);
	}

	[Fact]
	public void ReadOnlyFileRefusesWrites()
	{
		MakeFile("img", 10);
		using var f = Open("img", new NinePOptions { ReadOnly = true });
		var e = Assert.Throws<NinePException>(() => f.Write(0, "x"u8));
		Assert.Equal(Errno.EBADF, e.Errno);
		Assert.Contains("write img: bad file descriptor", e.Message);
		// The error is the file's, not the connection's: reads still work.
		Assert.Equal(10, f.Read(0, new byte[10]));
	}

	[Fact]
	public void DeadServerIsRefusedThenRecovers()
	{
		var want = MakeFile("img", 100_000);
		using var f = Open("img");
		var buf = new byte[1000];
		Assert.Equal(1000, f.Read(0, buf));

		diod.Stop();
		var e = Assert.Throws<NinePException>(() => f.Read(0, buf));
		Assert.Equal(Refused, e.Message);
		Assert.Equal(LibC.ECONNREFUSED, e.Errno);
		Assert.Equal(Refused, Assert.Throws<NinePException>(() => f.Write(0, "x"u8)).Message);
		Assert.Equal(Refused, Assert.Throws<NinePException>(() => f.Sync()).Message);
		Assert.Equal(Refused, Assert.Throws<NinePException>(() => f.Size).Message);

		diod.Start();
		Assert.Equal(1000, f.Read(50_000, buf));
		Assert.True(want.AsSpan(50_000, 1000).SequenceEqual(buf));
		f.Write(0, "again"u8);
		f.Sync();
		Assert.Equal(100_000, f.Size);
		Assert.Equal("again"u8.ToArray(), DiodCat("img")[..5]);
	}

	[Fact]
	public void RestartedServerIsRedialledWithoutError()
	{
		var want = MakeFile("img", 100_000);
		using var f = Open("img");
		var buf = new byte[1000];
		Assert.Equal(1000, f.Read(0, buf));
		diod.Restart();
		// The old connection is dead; the read finds out, redials and retries.
		Assert.Equal(1000, f.Read(1000, buf));
		Assert.True(want.AsSpan(1000, 1000).SequenceEqual(buf));
		diod.Restart();
		f.Write(10, "abc"u8);
		diod.Restart();
		f.Sync();
		diod.Restart();
		Assert.Equal(100_000, f.Size);
		Assert.Equal("abc"u8.ToArray(), DiodCat("img")[10..13]);
	}

	[Fact]
	public void ServerDownAtOpenIsRefused()
	{
		MakeFile("img", 10);
		diod.Stop();
		var e = Assert.Throws<NinePException>(() => Open("img"));
		Assert.Equal(Refused, e.Message);
	}

	/// The NinePException call ends with; the test fails if it has not
	/// ended by the tests' own timeout, long after the client's.
	static NinePException Refuses(Action call)
	{
		var t = Task.Run(() => Assert.Throws<NinePException>(call));
		Assert.True(t.Wait(Cmd.Timeout), "the 9P call did not return");
		return t.Result;
	}

	[Fact]
	public void StuckServerTimesOut()
	{
		var want = MakeFile("img", 10_000);
		using var f = Open("img", new NinePOptions { Timeout = TimeSpan.FromSeconds(1) });
		var buf = new byte[100];
		diod.Pause();
		try
		{
			var e = Refuses(() => f.Read(0, buf));
			Assert.Equal($"9p tcp!127.0.0.1!{diod.Port}: connection timed out", e.Message);
			// A stopped server still completes connects (the kernel
			// does that), so the redial times out too, waiting for Rversion.
			e = Refuses(() => f.Read(0, buf));
			Assert.Equal(LibC.ETIMEDOUT, e.Errno);
		}
		finally
		{
			diod.Resume();
		}
		Assert.Equal(100, f.Read(100, buf));
		Assert.True(want.AsSpan(100, 100).SequenceEqual(buf));
	}

	[Fact]
	public void SilentListenerTimesOut()
	{
		// Accepts, then says nothing: Tversion must not wait for ever.
		var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
		l.Start();
		try
		{
			int port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
			var e = Refuses(() => RemoteFile.Open($"9p:tcp!127.0.0.1!{port}/img", dir, new NinePOptions { Timeout = TimeSpan.FromMilliseconds(500) }));
			Assert.Equal($"9p tcp!127.0.0.1!{port}: connection timed out", e.Message);
		}
		finally
		{
			l.Stop();
		}
	}

	[Fact]
	public void ClosedFileRefusesUse()
	{
		MakeFile("img", 10);
		var f = Open("img");
		f.Dispose();
		f.Dispose();
		Assert.Throws<ObjectDisposedException>(() => f.Read(0, new byte[10]));
	}

	[Fact]
	public void TinyMsizeIsRejected()
	{
		MakeFile("img", 10);
		Assert.Throws<ArgumentOutOfRangeException>(() => Open("img", new NinePOptions { Msize = 100 }));
	}

	[Fact]
	public void ParsesDialStrings()
	{
		var d = Dial.Parse("9p:tcp!127.0.0.1!5640/some/file.img");
		Assert.Equal(new Dial("127.0.0.1", 5640, "some/file.img"), d);
		Assert.Equal("tcp!127.0.0.1!5640", d.Address);
		Assert.Equal(["some", "file.img"], d.Elems);
		Assert.Equal("9p:tcp!127.0.0.1!5640/some/file.img", d.ToString());
		Assert.Equal("a/b", Dial.Parse("9p:tcp!host.example!1//a//b/").Path);
	}

	[Theory]
	[InlineData("")]
	[InlineData("xyz")]
	[InlineData("tcp!127.0.0.1!5640/img")]
	[InlineData("9p:")]
	[InlineData("9p:tcp!127.0.0.1!5640")]
	[InlineData("9p:tcp!127.0.0.1!5640/")]
	[InlineData("9p:udp!127.0.0.1!5640/img")]
	[InlineData("9p:tcp!!5640/img")]
	[InlineData("9p:tcp!127.0.0.1/img")]
	[InlineData("9p:tcp!127.0.0.1!/img")]
	[InlineData("9p:tcp!127.0.0.1!0/img")]
	[InlineData("9p:tcp!127.0.0.1!65536/img")]
	[InlineData("9p:tcp!127.0.0.1!9fs/img")]
	[InlineData("9p:tcp!127.0.0.1!+5640/img")]
	[InlineData("9p:tcp!127.0.0.1!5640!x/img")]
	[InlineData("9p:tcp!127.0.0.1!5640/../img")]
	[InlineData("9p:tcp!127.0.0.1!5640/a/./img")]
	public void RejectsBadDialStrings(string s)
	{
		var e = Assert.Throws<ProtocolException>(() => Dial.Parse(s));
		Assert.StartsWith($"bad 9p address '{s}'", e.Message);
		Assert.EndsWith("want 9p:tcp!HOST!PORT/PATH", e.Message);
	}

	[Fact]
	public void OpenRejectsBadDialStrings()
	{
		var e = Assert.Throws<ProtocolException>(() => RemoteFile.Open("xyz", dir));
		Assert.Equal("bad 9p address 'xyz': want 9p:tcp!HOST!PORT/PATH", e.Message);
	}
}
