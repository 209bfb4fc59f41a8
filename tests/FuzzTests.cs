using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Pager.Client;
using Pager.NineP;
using Pager.Protocol;
using Xunit;

namespace Pager.Tests;

/// A short run of the fuzzer (bench fuzz; bench/README.md), against
/// this test's pagerd: a few thousand hostile inputs at every boundary
/// (fill and ctl FIFOs, the socket with and without descriptors, status
/// readers, a hostile 9P server, the parsers), and no finding: pagerd
/// alive, no internal error, every answer whole and in time, and the
/// check maps byte-exact after each batch. Then what it found, each
/// once, as a test of its own.
public sealed class FuzzTests : PagerdTest
{
	static string Bench => Path.Combine(Cmd.Repo, "bench", "bin",
		AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug", "net10.0", "bench");

	[Fact]
	public void ShortRunFindsNothing()
	{
		var r = Cmd.Run(Bench, ["fuzz", "-d", d.Root, "-n", "1500", "-b", "150", "-s", "1"], null, Env, TimeSpan.FromSeconds(120));
		Assert.True(r.Code == 0, $"bench fuzz: exit {r.Code}\n{r.Text}\n{r.Err}");
		Assert.Contains(" 0 findings", r.Text);
		Assert.False(d.Proc.HasExited, "pagerd exited: " + d.Log);
		Assert.DoesNotContain("internal error", d.Log);
	}

	/// An unbalanced quote in a long line was quoted whole in the err
	/// reply, a line longer than a client takes: the client dropped it
	/// and waited for an answer that had come.
	[Fact]
	public void UnbalancedQuoteInALongLineIsAnswered()
	{
		using var c = new Control(d.Root);
		var e = Assert.Throws<PagerException>(() => c.Call("ls '" + new string('x', 4085), -1, out _, TimeSpan.FromSeconds(5)));
		Assert.Contains("unbalanced quote", e.Message);
	}

	/// A refusal quoting a long word (a map's name, an extra argument)
	/// was an err line longer than a client takes, and went unanswered.
	[Theory]
	[InlineData("stat ", "no map")]
	[InlineData("err m ", "extra argument")]
	public void RefusalsQuotingLongWordsFitALine(string verb, string why)
	{
		using var c = new Control(d.Root);
		var e = Assert.Throws<PagerException>(() => c.Call(verb + new string('x', 4096 - verb.Length), -1, out _, TimeSpan.FromSeconds(5)));
		Assert.Contains(why, e.Message);
		Assert.EndsWith("...", e.Message);
	}

	/// An error reply whose message fills its line was kept whole, so the
	/// map's `err` answer, and the note to its clients, were lines longer
	/// than a client takes, and `err` went unanswered.
	[Fact]
	public void ErrorsOfLongLinesFitALine()
	{
		New("m", 65536, "source=zero");
		File.AppendAllText(d.Fill("m"), $"error m 0 4096 {new string('x', 4060)}\nerror m 4096 4096 '{new string('y', 3000)}\n");
		Cmd.WaitFor(() => d.Stat("m", "errors") == 2, "both errors recorded");
		using var c = new Control(d.Root);
		var errs = c.Call("err m", -1, out _, TimeSpan.FromSeconds(5));
		Assert.Equal(2, errs.Count);
		Assert.All(errs, l => Assert.InRange(l.Length, 1, 4000));
		Assert.Contains("pager: xxxx", errs[0]);
	}

	/// Buckets whose counts each fit a long but whose sum does not threw
	/// OverflowException, which mapctl does not expect of a status.
	[Fact]
	public void HistogramWhoseBucketsOverflowIsRefused()
	{
		var e = Assert.Throws<ProtocolException>(() => Histogram.Parse("n=0 p50=0 p90=0 p99=0 max=0 buckets=9223372036854775807,1", "h"));
		Assert.Contains("more than a count can hold", e.Message);
	}

	/// A server's Rgetattr of a size past the largest long made a file of
	/// negative size.
	[Fact]
	public void NinePSizePastALongIsAProtocolBotch()
	{
		using var srv = new TcpListener(IPAddress.Loopback, 0);
		srv.Start();
		var serve = new Thread(() => GetattrSays(srv, ulong.MaxValue)) { IsBackground = true };
		serve.Start();
		using var f = RemoteFile.Open($"9p:tcp!127.0.0.1!{((IPEndPoint)srv.LocalEndpoint).Port}/f", "x",
			new NinePOptions { Timeout = TimeSpan.FromSeconds(10) });
		var e = Assert.Throws<NinePException>(() => f.Size);
		Assert.Contains("protocol botch", e.Message);
		f.Dispose();
		Assert.True(serve.Join(Cmd.Timeout));
	}

	/// A 9P2000.L server that answers every request correctly, except
	/// that a getattr gives size; for two connections, as the client
	/// dials again once after a botch.
	static void GetattrSays(TcpListener srv, ulong size)
	{
		for (int i = 0; i < 2; i++)
			Serve(srv.AcceptSocket(), size);
	}

	static void Serve(Socket conn, ulong size)
	{
		using var s = conn;
		s.ReceiveTimeout = 10_000;
		var h = new byte[7];
		while (Fill(s, h))
		{
			var body = new byte[BinaryPrimitives.ReadUInt32LittleEndian(h) - 7];
			if (!Fill(s, body))
				return;
			var w = new MemoryStream();
			var b = new BinaryWriter(w);
			b.Write(0u);
			b.Write((byte)(h[4] + 1));
			b.Write(BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(5)));
			switch (h[4])
			{
			case 100: b.Write(BinaryPrimitives.ReadUInt32LittleEndian(body)); b.Write((ushort)8); b.Write("9P2000.L"u8); break;
			case 104: b.Write(new byte[13]); break;
			case 110: b.Write((ushort)1); b.Write(new byte[13]); break;
			case 12: b.Write(new byte[13]); b.Write(0u); break;
			case 24:
				b.Write(0x7FFUL);
				b.Write(new byte[13 + 12 + 16]);
				b.Write(size);
				b.Write(new byte[8 * 12]);
				break;
			}
			b.Flush();
			var m = w.ToArray();
			BinaryPrimitives.WriteUInt32LittleEndian(m, (uint)m.Length);
			s.Send(m);
		}
	}

	static bool Fill(Socket s, Span<byte> b)
	{
		while (b.Length > 0)
		{
			int n = s.Receive(b);
			if (n == 0)
				return false;
			b = b[n..];
		}
		return true;
	}
}
