using System.Text;
using Pager.Daemon;
using Pager.NineP;
using Pager.Protocol;

namespace Pager.Bench;

/// The protocol's parsers, called in this process with mutated input: a
/// parser may refuse its input only with the exception it documents
/// (ProtocolException, and CtlException for a control message's
/// values); anything else is a finding. Where a parser has a formatter,
/// what it accepts must come back the same through the two; the decoder
/// must give the same messages however its input is cut into reads.
sealed class FuzzParsers(string kind, FuzzFindings findings) : FuzzBoundary("parse " + kind)
{
	public static readonly string[] Kinds = ["pager", "decoder", "ctl", "status", "wire", "fields", "9p-address"];

	public override bool EndToEnd => false;

	public override void Case(Random r)
	{
		var mu = new Mutator(r);
		switch (kind)
		{
		// A line has no newline in it: the decoder splits at newlines.
		case "pager": Pager(mu.Line(FuzzSamples.Header(r)).Replace('\n', ' ')); break;
		case "decoder": Decoder(r, mu); break;
		case "ctl": Ctl(mu.Chance(4) ? FuzzSamples.Ctl(r, "m") : mu.Line(FuzzSamples.Ctl(r, mu.Chance(2) ? "m" : mu.Pick(Mutator.Junk)))); break;
		case "status": Status(r, mu); break;
		case "wire": Wire(r, mu); break;
		case "fields": Fields(r, mu); break;
		default: Try(mu.Line("9p:tcp!127.0.0.1!5640/a/b").Replace(' ', mu.Chance(2) ? '!' : '/'), s => Dial.Parse(s)); break;
		}
	}

	/// Runs f on input; an exception other than the refusals allowed is a finding.
	void Try(string input, Action<string> f)
	{
		try
		{
			f(input);
		}
		catch (Exception e) when (e is ProtocolException or CtlException)
		{
		}
		catch (Exception e)
		{
			findings.Add(Name, $"{e.GetType().Name}: {e.Message}", input);
		}
	}

	void Expect(bool ok, string what, string input)
	{
		if (!ok)
			findings.Add(Name, what, input);
	}

	/// A header line; one accepted is formatted and parsed again, to the same.
	void Pager(string line) => Try(line, l =>
	{
		var m = Parse.Line(l);
		var again = Parse.Line(Format.Header(m));
		Expect(Same(m, again), $"'{Format.Header(m)}' does not parse back to what it was formatted from", l);
	});

	static bool Same(Msg a, Msg b) =>
		a.Verb == b.Verb && a.Map == b.Map && a.Off == b.Off && a.Len == b.Len && a.Path == b.Path
		&& a.FileOff == b.FileOff && a.Seq == b.Seq && a.Text == b.Text && a.Keys.ToString() == b.Keys.ToString();

	/// A stream of mutated replies, fed whole and then in random pieces:
	/// the same messages and the same errors must come out.
	void Decoder(Random r, Mutator mu)
	{
		var s = new MemoryStream();
		for (int i = r.Next(1, 6); i > 0; i--)
		{
			var one = FuzzSamples.Reply(r, "m", 1 << 20, "/tmp/x");
			s.Write(mu.Chance(2) ? mu.Bytes(one) : one);
		}
		var bytes = s.ToArray();
		string input = Encoding.Latin1.GetString(bytes);
		try
		{
			var whole = Decode(bytes, [bytes.Length]);
			var cuts = new List<int>();
			for (int left = bytes.Length; left > 0;)
			{
				int n = Math.Min(left, r.Next(1, 300));
				cuts.Add(n);
				left -= n;
			}
			var pieces = Decode(bytes, cuts);
			Expect(whole.SequenceEqual(pieces), $"the decoder gives {whole.Count} results whole and {pieces.Count} read in pieces, or others", input);
		}
		catch (Exception e)
		{
			findings.Add(Name, $"{e.GetType().Name}: {e.Message}", input);
		}
	}

	static List<string> Decode(byte[] b, List<int> cuts)
	{
		var d = new Protocol.Decoder();
		var got = new List<string>();
		int at = 0;
		foreach (var n in cuts)
		{
			d.Feed(b.AsSpan(at, n), m => got.Add($"{m.Line} [{Convert.ToHexString(m.Payload ?? [])}] at {d.Pos}"), e => got.Add("error " + e));
			at += n;
		}
		d.End(e => got.Add("end " + e));
		return got;
	}

	/// A control line, then what its handler would make of the values.
	void Ctl(string line) => Try(line, l =>
	{
		var c = Cmdtab.Parse(l, FromSocket(l) ? From.Socket : From.Fifo);
		if (c.Maybe("SIZE") is { } size)
			Num.Size(size, "size");
		foreach (var v in new[] { "OFFSET", "LENGTH" })
			if (c.Maybe(v) is { } n)
				Num.Size(n, v);
		if (c.Cmd.Name is "new" or "set")
			new Options().Apply(c.Fields, c.Cmd.Name == "new", 1 << 20);
		if (c.Fields.Get("base") is { } b)
			Num.Parse(b, "base");
	});

	/// Half the lines as from the socket, half as from a FIFO.
	static bool FromSocket(string l) => l.Length % 2 == 0;

	/// A status as mapctl reads it: every line key value, the latencies
	/// histograms; a histogram pagerd wrote reads back the same.
	void Status(Random r, Mutator mu)
	{
		var h = FuzzSamples.Histogram(r);
		Try(h.ToString(), s => Expect(Histogram.Parse(s, "h").ToString() == s, "a histogram does not read back as written", s));
		var text = FuzzSamples.Status(r);
		var lines = text.Split('\n');
		int i = r.Next(lines.Length);
		lines[i] = mu.Chance(3) ? lines[i] + "," + mu.Number() : mu.Line(lines[i]);
		Try(string.Join('\n', lines), t =>
		{
			foreach (var (k, v) in Protocol.Status.Parse(t))
				if (k.StartsWith("latency."))
					Histogram.Parse(v, k);
		});
	}

	/// What a client reads from the socket: reply heads, attach replies,
	/// and lines split from bytes the same however they come.
	void Wire(Random r, Mutator mu)
	{
		Try(mu.Line(mu.Chance(2) ? "ok 3" : "err no map 'x'"), l =>
		{
			try
			{
				Protocol.Wire.Head(l);
			}
			catch (PagerdError)
			{
			}
		});
		Try(mu.Line("m size=20000 length=20480 pagesize=4096 mode=ro"), l => AttachInfo.Parse(l));
		var b = mu.Bytes(Encoding.UTF8.GetBytes("ok 1\nm size=1 length=4096 pagesize=4096 mode=rw\nnote error m 0 4096 x\n"));
		if (mu.Chance(10))
			b = [.. b, .. Enumerable.Repeat((byte)'x', 4100), (byte)'\n', .. b];
		var whole = Lines(b, [b.Length]);
		var cut = Lines(b, [.. Enumerable.Range(0, b.Length).Select(_ => 1)]);
		Expect(whole.SequenceEqual(cut), "LineBuffer gives other lines a byte at a time", Encoding.Latin1.GetString(b));
	}

	static List<string> Lines(byte[] b, IEnumerable<int> cuts)
	{
		var lb = new LineBuffer();
		var got = new List<string>();
		int at = 0;
		foreach (var n in cuts)
		{
			lb.Feed(b.AsSpan(at, n), got.Add, e => got.Add("error " + e));
			at += n;
		}
		lb.End(got.Add);
		return got;
	}

	/// Fields quoted and joined split back into the same fields.
	void Fields(Random r, Mutator mu)
	{
		var words = Enumerable.Range(0, r.Next(1, 6)).Select(_ => mu.Chance(2) ? mu.Pick(Mutator.Junk) : mu.Line("a b'c")).ToList();
		var line = string.Join(' ', words.Select(Protocol.Fields.Quote));
		Try(line, l => Expect(Protocol.Fields.Split(l).SequenceEqual(words), "quoted fields do not split back", l));
		Try(mu.Line(line), l => KeyValues.Parse(Protocol.Fields.Split(l)));
	}
}
