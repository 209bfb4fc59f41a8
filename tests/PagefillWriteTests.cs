using System.Text;
using Pager.Kernel;
using Pager.Protocol;
using Tmds.Linux;
using Xunit;
using static Pager.Tests.Streams;

namespace Pager.Tests;

/// pagefill's write-back: write and sync requests, their ok, fail and
/// synced replies, and what reaches the file.
public class PagefillWriteTests : Scratch
{
	static Cmd.Result Fill(byte[] requests, params string[] args) => Cmd.Run("pagefill", args, requests);

	static string Lines(Cmd.Result r) => string.Concat(Clean(r.Out).Select(m => Format.Header(m) + "\n"));

	/// A write request carrying data, as pagerd sends it.
	public static byte[] W(string map, long off, byte[] data) => [.. B($"write {map} {off} {data.Length}\n"), .. data];

	public static byte[] Bytes(int n, int seed)
	{
		var b = new byte[n];
		new Random(seed).NextBytes(b);
		return b;
	}

	public static byte[] Cat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

	[Fact]
	public void FileWriteThenSync()
	{
		var f = Path.Combine(TempDir(), "img");
		var want = Bytes(3 * 4096 + 100, 1);
		File.WriteAllBytes(f, want);
		var p1 = Bytes(4096, 2);
		var p34 = Bytes(8192, 3);
		var r = Fill(Cat(W("m", 4096, p1), W("m", 12288, p34), B("sync m 1\nread m 0 4096\n")), $"file:{f}");
		Assert.Equal(0, r.Code);
		Assert.Equal("", r.Err);
		Assert.Equal($"ok m 4096 4096\nok m 12288 8192\nsynced m 1\nfile m 0 4096 {f} 0\n", r.Text);
		// The write past the end made the file longer, by whole pages.
		Array.Resize(ref want, 5 * 4096);
		p1.CopyTo(want, 4096);
		p34.CopyTo(want, 12288);
		Assert.Equal(want, File.ReadAllBytes(f));
	}

	/// The map's last page, written back with its size=: the bytes past the
	/// map's end do not grow the file.
	[Fact]
	public void FileWriteStopsAtTheMapsEnd()
	{
		var f = Path.Combine(TempDir(), "img");
		var want = Bytes(4096 + 100, 1);
		File.WriteAllBytes(f, want);
		var page = Bytes(4096, 2);
		var r = Fill(Cat(B($"write m 4096 4096 size={4096 + 100}\n"), page), $"file:{f}");
		Assert.Equal(0, r.Code);
		Assert.Equal("ok m 4096 4096\n", r.Text);
		page.AsSpan(0, 100).CopyTo(want.AsSpan(4096));
		Assert.Equal(want, File.ReadAllBytes(f));
	}

	[Fact]
	public void FileWriteHonoursTheOffset()
	{
		var f = Path.Combine(TempDir(), "img");
		var want = Bytes(4 * 4096, 1);
		File.WriteAllBytes(f, want);
		var p = Bytes(4096, 2);
		var r = Fill(Cat(W("m", 4096, p), B("sync m 9\n")), "-o", "8k", $"file:{f}");
		Assert.Equal("ok m 4096 4096\nsynced m 9\n", r.Text);
		p.CopyTo(want, 8192 + 4096);
		Assert.Equal(want, File.ReadAllBytes(f));
		// With -i the offset need not be whole pages.
		var q = Bytes(4096, 3);
		r = Fill(Cat(W("m", 0, q), B("read m 0 4096\n")), "-i", "-o", "100", $"file:{f}");
		Assert.Equal("ok m 0 4096", Format.Header(Clean(r.Out)[0]));
		Assert.Equal(q, Reassemble(r.Out[(r.Out.AsSpan().IndexOf((byte)'\n') + 1)..], 0, 4096));
		q.CopyTo(want, 100);
		Assert.Equal(want, File.ReadAllBytes(f));
	}

	[Fact]
	public void FileReadOnlyFailsWritesAndServesReads()
	{
		var dir = TempDir();
		// pagefill may run as another user, who must reach the file.
		Posix.Chmod(dir, 0x1ed);
		var f = Path.Combine(dir, "img");
		var want = Bytes(2 * 4096, 1);
		File.WriteAllBytes(f, want);
		Posix.Chmod(f, 0x124);
		var req = Cat(B("read m 0 4096\n"), W("m", 0, Bytes(4096, 2)), B("read m 4096 4096\nsync m 1\n"), W("m", 4096, Bytes(4096, 3)));
		var r = Unprivileged(req, $"file:{f}");
		Assert.True(r.Code == 0, r.Err);
		Assert.Equal(
			$"file m 0 4096 {f} 0\n" +
			$"fail m 0 4096 file:{f}: permission denied\n" +
			$"file m 4096 4096 {f} 4096\n" +
			"synced m 1\n" +
			$"fail m 4096 4096 file:{f}: permission denied\n", Lines(r));
		Assert.Equal(want, File.ReadAllBytes(f));
	}

	/// Runs pagefill where permissions hold: as nobody when the tests run as root.
	static Cmd.Result Unprivileged(byte[] requests, params string[] args)
	{
		if (LibC.geteuid() != 0)
			return Fill(requests, args);
		return Cmd.Run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", Cmd.Bin("pagefill"), .. args], requests);
	}

	[Fact]
	public void SyncWaitsForWritesInFlight()
	{
		// Large writes take long enough that a sync served beside them
		// would be answered first if it did not wait; on tmpfs the sync
		// itself takes no time.
		var f = Path.Combine(FastDir(), "img");
		File.WriteAllBytes(f, []);
		const int big = 16 << 20;
		var parts = Enumerable.Range(0, 3).Select(i => Bytes(big, i)).ToArray();
		var req = Cat(W("m", 0, parts[0]), W("m", big, parts[1]), W("m", 2L * big, parts[2]), B("sync m 5\n"));
		var r = Fill(req, "-n", "4", $"file:{f}");
		Assert.Equal(0, r.Code);
		var lines = Lines(r).Split('\n', StringSplitOptions.RemoveEmptyEntries);
		Assert.Equal(["ok m 0 16777216", "ok m 16777216 16777216", "ok m 33554432 16777216"], lines[..3].Order());
		Assert.Equal("synced m 5", lines[3]);
		Assert.Equal(4, lines.Length);
		Assert.True(Cat(parts).AsSpan().SequenceEqual(File.ReadAllBytes(f)), "file differs");
	}

	/// A directory where fdatasync costs nothing: on tmpfs if there is one.
	string FastDir() => TempDir(Directory.Exists("/dev/shm") ? "/dev/shm" : null);

	[Fact]
	public void WritesToTheSameBytesLandInOrder()
	{
		// A large write, then a small one to its first page, then a read of
		// that page: served at once, the later ones still see the earlier.
		var f = Path.Combine(TempDir(), "img");
		File.WriteAllBytes(f, []);
		var first = Bytes(16 << 20, 1);
		var second = Bytes(4096, 2);
		var req = Cat(W("m", 0, first), W("m", 0, second), B("read m 0 4096\n"));
		var r = Fill(req, "-n", "4", "-i", $"file:{f}");
		Assert.Equal(0, r.Code);
		var msgs = Clean(r.Out);
		Assert.Equal(["ok m 0 16777216", "ok m 0 4096"], msgs.Take(2).Select(Format.Header));
		var page = new byte[4096];
		foreach (var d in msgs.Skip(2))
		{
			Assert.Equal(Verb.Data, d.Verb);
			d.Payload!.CopyTo(page, d.Off);
		}
		Assert.Equal(second, page);
		second.CopyTo(first, 0);
		Assert.True(first.AsSpan().SequenceEqual(File.ReadAllBytes(f)), "file differs");
	}

	[Theory]
	[InlineData("zero")]
	[InlineData("pattern")]
	[InlineData("exec:cat /dev/zero")]
	public void ReadOnlySourcesFailWrites(string src)
	{
		var r = Fill(Cat(W("m", 8192, Bytes(8192, 1)), B("sync m 3\n")), src);
		Assert.Equal(0, r.Code);
		Assert.Equal("", r.Err);
		Assert.Equal($"fail m 8192 8192 {src}: source is read-only\nsynced m 3\n", r.Text);
	}

	[Fact]
	public void UnalignedWriteFails()
	{
		var f = Path.Combine(TempDir(), "img");
		var want = Bytes(8192, 1);
		File.WriteAllBytes(f, want);
		var r = Fill(Cat(W("m", 100, Bytes(4096, 2)), W("m", 0, Bytes(100, 3))), $"file:{f}");
		Assert.Equal(0, r.Code);
		Assert.Equal($"fail m 100 4096 file:{f}: range is not whole pages\nfail m 0 100 file:{f}: range is not whole pages\n", r.Text);
		Assert.Equal(want, File.ReadAllBytes(f));
	}

	[Theory]
	[InlineData("1")]
	[InlineData("4")]
	public void WriteCutShortIsReportedAndUnanswered(string n)
	{
		var r = Fill(B("read m 0 4096\nwrite m 0 4096\nabc"), "-n", n, "zero");
		Assert.Equal(0, r.Code);
		Assert.Equal("zero m 0 4096\n", r.Text);
		Assert.Equal("pagefill: payload short: 3 of 4096 bytes in 'write m 0 4096'\n", r.Err);
	}

	[Fact]
	public void FailedSyncIsReported()
	{
		// A character device takes writes but cannot be synced.
		var r = Fill(Cat(W("m", 0, Bytes(4096, 1)), B("sync m 2\n")), "file:/dev/null");
		Assert.Equal("ok m 0 4096\nsynced m 2 'err=file:/dev/null: fdatasync: invalid argument'\n", r.Text);
		var s = Clean(r.Out)[1];
		Assert.Equal(2, s.Seq);
		Assert.Equal("file:/dev/null: fdatasync: invalid argument", s.Key("err"));
	}

	[Fact]
	public void LongRepliesFitOnePipeBuf()
	{
		// A path of quotes: quoted in err= it doubles, past PIPE_BUF.
		var dir = TempDir();
		var deep = dir;
		for (int i = 0; i < 14; i++)
			deep = Path.Combine(deep, new string('\'', 200));
		Directory.CreateDirectory(deep);
		var dev = Path.Combine(deep, "null");
		File.CreateSymbolicLink(dev, "/dev/null");
		var missing = Path.Combine(deep, "missing");
		foreach (var (path, verb) in new[] { (dev, Verb.Synced), (missing, Verb.Fail) })
		{
			var r = Fill(Cat(W("m", 0, Bytes(4096, 1)), B("sync m 1\n")), $"file:{path}");
			Assert.Equal(0, r.Code);
			var (msgs, errs) = Decode(r.Out);
			Assert.Empty(errs);
			Assert.Equal(2, msgs.Count);
			Assert.All(msgs, x => Assert.True(x.Size <= Format.PipeBuf, $"{x.Size} bytes: {Format.Header(x.M)}"));
			var m = msgs.Single(x => x.M.Verb == verb).M;
			var text = verb == Verb.Fail ? m.Text : m.Key("err")!;
			Assert.StartsWith($"file:{dir}/'''", text);
			Assert.EndsWith("...", text);
		}
	}
}
