using System.Collections.Concurrent;
using System.Diagnostics;
using Pager.Protocol;
using Xunit;
using static Pager.Tests.PagefillWriteTests;
using static Pager.Tests.Streams;
using Decoder = Pager.Protocol.Decoder;

namespace Pager.Tests;

/// pagefill's 9p source against a real diod: reads, write-back, and a
/// server that goes away and comes back.
public sealed class PagefillNinePTests : IDisposable
{
	readonly string dir;
	readonly Diod diod;

	public PagefillNinePTests()
	{
		dir = Directory.CreateTempSubdirectory("pager-tools-9p-").FullName;
		diod = Diod.Start(dir);
	}

	public void Dispose()
	{
		diod.Dispose();
		Directory.Delete(dir, true);
	}

	/// The arguments that serve file name of the export, after opts.
	string[] Args(string name, params string[] opts) => [.. opts, "-A", dir, diod.Source(name)];

	byte[] MakeFile(string name, int n, int seed = 1)
	{
		var b = Bytes(n, seed);
		File.WriteAllBytes(Path.Combine(dir, name), b);
		return b;
	}

	string Refused => $"9p {diod.Address}: connection refused";

	/// Compares the file in the export with want, with cmp(1), and as
	/// diodcat, a 9P client of its own, reads it.
	void Check(string name, byte[] want)
	{
		var exp = Path.Combine(dir, "..", Path.GetFileName(dir) + ".want");
		try
		{
			File.WriteAllBytes(exp, want);
			var r = Cmd.Run("cmp", exp, Path.Combine(dir, name));
			Assert.True(r.Code == 0, $"cmp: {r.Text}{r.Err}");
		}
		finally
		{
			File.Delete(exp);
		}
		var cat = Cmd.Run(Diod.CatExe, ["-t", "10", "-s", $"127.0.0.1:{diod.Port}", "-a", dir, name], null);
		Assert.True(cat.Code == 0, $"diodcat: {cat.Err}");
		Assert.True(want.AsSpan().SequenceEqual(cat.Out), "diodcat reads other bytes");
	}

	[Fact]
	public void Reads()
	{
		var want = MakeFile("img", 10_000);
		var r = Cmd.Run("pagefill", Args("img"), B("read m 0 16384\nread m 4096 4096\nread m 16384 4096\n"));
		Assert.Equal(0, r.Code);
		Assert.Equal("", r.Err);
		var msgs = Clean(r.Out);
		var src = diod.Source("img");
		// The file ends in its third page: the rest of that page is zeros,
		// and the page after it is an error.
		var errors = msgs.Where(m => m.Verb == Verb.Error).Select(Format.Header);
		Assert.Equal([$"error m 12288 4096 {src}: offset 0x3000 is past the end of the file",
			$"error m 16384 4096 {src}: offset 0x4000 is past the end of the file"], errors);
		var first = Gather(msgs.TakeWhile(m => m.Verb == Verb.Data), 0, 12288);
		Assert.Equal(want, first[..want.Length]);
		Assert.All(first[want.Length..], x => Assert.Equal(0, x));
		var second = Gather(msgs.SkipWhile(m => m.Verb == Verb.Data).Skip(1).TakeWhile(m => m.Verb == Verb.Data), 4096, 4096);
		Assert.Equal(want[4096..8192], second);

		// Read-ahead stops at the end of the file, with no error for pages not asked for.
		var a = Cmd.Run("pagefill", Args("img", "-a", "64k"), B("read m 0 4096 size=65536\n"));
		Assert.Equal(first, Reassemble(a.Out, 0, 12288));
	}

	/// Puts data frames together into off..off+len, which they must tile.
	static byte[] Gather(IEnumerable<Msg> frames, long off, long len)
	{
		var b = new byte[len];
		long n = 0;
		foreach (var m in frames)
		{
			Assert.Equal(off + n, m.Off);
			m.Payload!.CopyTo(b, n);
			n += m.Len;
		}
		Assert.Equal(len, n);
		return b;
	}

	[Fact]
	public void WritesThenSync()
	{
		var want = MakeFile("img", 3 * 4096);
		var p0 = Bytes(4096, 2);
		var p2 = Bytes(3 * 4096, 3);
		var r = Cmd.Run("pagefill", Args("img"), Cat(W("m", 0, p0), W("m", 8192, p2), B("sync m 1\n")));
		Assert.Equal(0, r.Code);
		Assert.Equal("", r.Err);
		Assert.Equal("ok m 0 4096\nok m 8192 12288\nsynced m 1\n", r.Text);
		Array.Resize(ref want, 5 * 4096);
		p0.CopyTo(want, 0);
		p2.CopyTo(want, 8192);
		Check("img", want);
		// And pagefill reads them back.
		var back = Cmd.Run("pagefill", Args("img"), B("read m 0 20480\n"));
		Assert.Equal(want, Reassemble(back.Out, 0, want.Length));
	}

	[Fact]
	public void ServerGoesAwayAndComesBack()
	{
		var want = MakeFile("img", 4 * 4096);
		using var s = new Session(Args("img"));
		Assert.Equal(want[..4096], s.Data(0, 4096, "read m 0 4096\n"));
		var p0 = Bytes(4096, 2);
		s.Send(W("m", 0, p0));
		Assert.Equal("ok m 0 4096", s.Line());
		p0.CopyTo(want, 0);

		diod.Stop();
		s.Send(B("read m 4096 4096\n"));
		Assert.Equal($"error m 4096 4096 {Refused}", s.Line());
		s.Send(W("m", 4096, Bytes(4096, 3)));
		Assert.Equal($"fail m 4096 4096 {Refused}", s.Line());
		s.Send(B("sync m 1\n"));
		var synced = s.Next();
		Assert.Equal(Verb.Synced, synced.Verb);
		Assert.Equal(1, synced.Seq);
		Assert.Equal(Refused, synced.Key("err"));

		diod.Start();
		Assert.Equal(want[8192..12288], s.Data(8192, 4096, "read m 8192 4096\n"));
		var p1 = Bytes(4096, 4);
		s.Send(W("m", 4096, p1));
		Assert.Equal("ok m 4096 4096", s.Line());
		p1.CopyTo(want, 4096);
		s.Send(B("sync m 2\n"));
		Assert.Equal("synced m 2", s.Line());
		Check("img", want);
		Assert.Equal(0, s.Close());
		Assert.Equal("", s.Err);
	}

	[Fact]
	public void ServerDownAtStartIsWaitedFor()
	{
		var want = MakeFile("img", 4096);
		diod.Stop();
		using var s = new Session(Args("img"));
		s.Send(B("read m 0 4096\n"));
		Assert.Equal($"error m 0 4096 {Refused}", s.Line());
		s.Send(W("m", 0, Bytes(4096, 2)));
		Assert.Equal($"fail m 0 4096 {Refused}", s.Line());
		diod.Start();
		Assert.Equal(want, s.Data(0, 4096, "read m 0 4096\n"));
		var p = Bytes(4096, 3);
		s.Send(Cat(W("m", 0, p), B("sync m 7\n")));
		Assert.Equal("ok m 0 4096", s.Line());
		Assert.Equal("synced m 7", s.Line());
		Check("img", p);
		Assert.Equal(0, s.Close());
		Assert.Equal($"pagefill: {Refused}; trying again at each request\n", s.Err);
	}

	[Fact]
	public void BadExportAndPathAreNamed()
	{
		MakeFile("img", 4096);
		var addr = diod.Address;
		var r = Cmd.Run("pagefill", ["-A", "/no/such", diod.Source("img")], Cat(B("read m 0 4096\n"), W("m", 0, Bytes(4096, 2))));
		Assert.Equal(0, r.Code);
		var why = $"9p {addr}: attach '/no/such': operation not permitted";
		Assert.Equal($"error m 0 4096 {why}\nfail m 0 4096 {why}\n", r.Text);
		Assert.Equal($"pagefill: {why}; trying again at each request\n", r.Err);
		var m = Cmd.Run("pagefill", Args("no/such.img"), B("read m 0 4096\n"));
		Assert.Equal($"error m 0 4096 9p {addr}: walk no/such.img: no such file or directory\n", m.Text);
	}

	/// A pagefill answering requests one at a time, with a timeout on each wait.
	internal sealed class Session : IDisposable
	{
		readonly Process p;
		readonly BlockingCollection<Msg> replies = [];
		readonly List<string> garbled = [];
		readonly Task<string> err;

		public Session(string[] args)
		{
			p = Cmd.Start("pagefill", args);
			err = p.StandardError.ReadToEndAsync();
			Task.Run(Pump);
		}

		void Pump()
		{
			var dec = new Decoder();
			var buf = new byte[65536];
			var s = p.StandardOutput.BaseStream;
			for (int n; (n = s.Read(buf)) > 0;)
				dec.Feed(buf.AsSpan(0, n), replies.Add, garbled.Add);
			dec.End(garbled.Add);
			replies.CompleteAdding();
		}

		public void Send(byte[] b)
		{
			p.StandardInput.BaseStream.Write(b);
			p.StandardInput.BaseStream.Flush();
		}

		public Msg Next()
		{
			Assert.True(replies.TryTake(out var m, Wait), "no reply in time");
			Assert.Empty(garbled);
			return m!;
		}

		public string Line() => Format.Header(Next());

		/// Sends a read and gathers its data frames.
		public byte[] Data(long off, int len, string read)
		{
			Send(B(read));
			var b = new byte[len];
			for (long n = 0; n < len;)
			{
				var m = Next();
				Assert.True(m.Verb == Verb.Data, Format.Header(m));
				Assert.Equal(off + n, m.Off);
				m.Payload!.CopyTo(b, n);
				n += m.Len;
			}
			return b;
		}

		public int Close()
		{
			p.StandardInput.Close();
			return Exit(p);
		}

		public string Err => err.Wait(Wait) ? err.Result : "(stderr not closed)";

		public void Dispose()
		{
			if (!p.HasExited)
				p.Kill(true);
			p.WaitForExit(Wait);
			p.Dispose();
		}
	}
}
