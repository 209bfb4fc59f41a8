using System.Text;
using Pager.Protocol;
using Xunit;
using Decoder = Pager.Protocol.Decoder;

namespace Pager.Tests;

/// The one parser and formatter of the pager protocol, and the decoder
/// that cuts a byte stream into messages.
public class ProtocolTests
{
	static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

	/// Decodes input, all at once or a byte at a time, then ends it.
	static (List<Msg> Msgs, List<string> Errors) Decode(byte[] input, bool bytewise = false)
	{
		var msgs = new List<Msg>();
		var errors = new List<string>();
		var d = new Decoder();
		if (bytewise)
			for (int i = 0; i < input.Length; i++)
				d.Feed(input.AsSpan(i, 1), msgs.Add, errors.Add);
		else
			d.Feed(input, msgs.Add, errors.Add);
		d.End(errors.Add);
		Assert.False(d.Partial);
		return (msgs, errors);
	}

	static ProtocolException Bad(string line) => Assert.Throws<ProtocolException>(() => Parse.Line(line));

	// Format

	[Fact]
	public void FormatLines()
	{
		Assert.Equal("read vm 4096 8192", Format.Header(Msg.Range(Verb.Read, "vm", 4096, 8192)));
		Assert.Equal("sync vm 42", Format.Header(new Msg { Verb = Verb.Sync, Map = "vm", Seq = 42 }));
		Assert.Equal("file vm 0 4096 '/tmp/a b' 512",
			Format.Header(new Msg { Verb = Verb.File, Map = "vm", Len = 4096, Path = "/tmp/a b", FileOff = 512 }));
		Assert.Equal("error vm 0 4096 no disk",
			Format.Header(new Msg { Verb = Verb.Error, Map = "vm", Len = 4096, Text = "no\ndisk" }));
		var m = Msg.Range(Verb.Evict, "vm", 0, 4096);
		m.Keys.Add(new("why", "two words"));
		Assert.Equal("evict vm 0 4096 'why=two words'", Format.Header(m));
		Assert.Equal(B("data vm 0 3\nabc"), Format.Bytes(new Msg { Verb = Verb.Data, Map = "vm", Len = 3, Payload = B("abc") }));
	}

	[Fact]
	public void RoundTripEveryVerb()
	{
		foreach (var v in Enum.GetValues<Verb>())
		{
			var m = new Msg
			{
				Verb = v,
				Map = "vm_1.img-a",
				Off = 0x12345000,
				Len = 8192,
				Seq = 7,
			};
			if (v == Verb.File)
			{
				m.Path = "/tmp/a dir/it's\there";
				m.FileOff = 123456789012;
			}
			// error and fail end in free text, so carry no keys.
			if (Verbs.HasText(v))
				m.Text = "read /dev/sdb: I/O error, can't retry";
			else
			{
				m.Keys.Add(new("tag", "3"));
				m.Keys.Add(new("note", "two words, it's"));
			}

			var line = Format.Header(m);
			Assert.StartsWith(Verbs.Name(v) + " vm_1.img-a ", line);
			var back = Parse.Line(line);
			Assert.Equal(v, back.Verb);
			Assert.Equal(m.Map, back.Map);
			if (Verbs.HasSeq(v))
				Assert.Equal(7, back.Seq);
			else
			{
				Assert.Equal(0x12345000, back.Off);
				Assert.Equal(8192, back.Len);
			}
			Assert.Equal(m.Path, back.Path);
			Assert.Equal(m.FileOff, back.FileOff);
			Assert.Equal(m.Text, back.Text);
			Assert.Equal(m.Keys, back.Keys);
			Assert.Equal(line, back.Line);
			Assert.Equal(line, Format.Header(back));
		}
	}

	// Parse

	[Fact]
	public void HexAndDecimal()
	{
		var m = Parse.Line("read vm 0x1000 8192");
		Assert.Equal(4096, m.Off);
		Assert.Equal(8192, m.Len);
		m = Parse.Line("zero vm 4096 0X2000");
		Assert.Equal(4096, m.Off);
		Assert.Equal(8192, m.Len);
		m = Parse.Line("read vm 0x7fffffffffffe000 0x1000");
		Assert.Equal(0x7fffffffffffe000, m.Off);
		Assert.Equal(0xff, Parse.Line("synced vm 0xff").Seq);
		Assert.Equal(0x1ff, Parse.Line("file vm 0 4096 /x 0x1ff").FileOff);
	}

	[Fact]
	public void KeysKeptUnknownCarried()
	{
		const string line = "read vm 0 4096 prio=3 x-future=a=b empty=";
		var m = Parse.Line(line);
		Assert.Equal([new("prio", "3"), new("x-future", "a=b"), new("empty", "")], m.Keys);
		Assert.Equal("3", m.Key("prio"));
		Assert.Equal("a=b", m.Key("x-future"));
		Assert.Equal("", m.Key("empty"));
		Assert.Null(m.Key("nope"));
		Assert.Equal(line, Format.Header(m));

		m = Parse.Line("sync vm 9 'k=v w'");
		Assert.Equal("v w", m.Key("k"));
	}

	[Fact]
	public void HeadersAreTheUtf8OnTheWire()
	{
		// Quoted keys and paths, a key with a quote in it, free text over lines.
		var m = new Msg { Verb = Verb.File, Map = "vm", Off = 8192, Len = 4096, Path = "/a b/it's", FileOff = 0 };
		m.Keys.Add(new("who", "ünï cödé"));
		m.Keys.Add(new("q", "it's"));
		m.Keys.Add(new("e", ""));
		Assert.Equal("file vm 8192 4096 '/a b/it''s' 0 'who=ünï cödé' 'q=it''s' e=", Format.Header(m));
		var b = new byte[Format.MaxHeader(m)];
		Assert.Equal(Encoding.UTF8.GetBytes(Format.Header(m)), b[..Format.Header(m, b)]);
		// A lone surrogate cannot be UTF-8: it is U+FFFD, parsed and formatted alike.
		var lone = Parse.Line("error vm 0 4096 bad \ud800 byte");
		Assert.Equal("bad \ufffd byte", lone.Text);
		Assert.Equal("error vm 0 4096 bad \ufffd byte", Format.Header(lone));
	}

	[Fact]
	public void LinesWithAndWithoutQuotesSplitAlike()
	{
		// Unquoted lines are split in place, quoted ones by Fields.Split:
		// the same words either way, however many.
		var keys = string.Join(" ", Enumerable.Range(0, 20).Select(i => $"k{i}=v{i}"));
		foreach (var q in new[] { "", " 'q=it''s'" })
		{
			var m = Parse.Line($" file\tvm 0x1000  4096 /a/b 7 {keys}{q} \r");
			Assert.Equal(("vm", 4096L, 4096L, "/a/b", 7L), (m.Map, m.Off, m.Len, m.Path, m.FileOff));
			Assert.Equal(q == "" ? 20 : 21, m.Keys.Count);
			Assert.Equal("v19", m.Key("k19"));
		}
		Assert.Equal("it's", Parse.Line("read vm 0 4096 'q=it''s'").Key("q"));
		Assert.Equal("no such page", Parse.Line("error vm 0 4096   no such page \t").Text);
		Assert.Equal("it's 'quoted'", Parse.Line("error vm 0 4096 it's 'quoted'").Text);
		var e = Assert.Throws<ProtocolException>(() => Parse.Line("read vm 0 4096 a=1 a=2"));
		Assert.Equal("field 'a' given twice in 'read vm 0 4096 a=1 a=2'", e.Message);
		e = Assert.Throws<ProtocolException>(() => Parse.Line("read vm 12x 4096"));
		Assert.Equal("bad offset '12x' in 'read vm 12x 4096'", e.Message);
	}

	[Fact]
	public void QuotedPaths()
	{
		Assert.Equal("plain/path", Fields.Quote("plain/path"));
		Assert.Equal("'a b'", Fields.Quote("a b"));
		Assert.Equal("'a\tb'", Fields.Quote("a\tb"));
		Assert.Equal("'it''s'", Fields.Quote("it's"));
		Assert.Equal("''", Fields.Quote(""));

		Assert.Equal(["file", "vm", "0", "4096", "/a b/c'd", "0"], Fields.Split("file vm 0 4096 '/a b/c''d' 0"));
		Assert.Equal(["a", "", "b c"], Fields.Split("  a\t''  'b c'  "));
		Assert.Equal(["ab"], Fields.Split("a''b"));

		var m = Parse.Line("file vm 0 4096 '/srv/disk images/it''s.img' 4096");
		Assert.Equal("/srv/disk images/it's.img", m.Path);
		Assert.Equal(4096, m.FileOff);

		foreach (var s in new[] { "x", "a b", "'", "''", " lead", "trail ", "tab\there", "ünï cödé" })
			Assert.Equal([s], Fields.Split(Fields.Quote(s)));
	}

	[Fact]
	public void ErrorFreeText()
	{
		var m = Parse.Line("error vm 0 4096 read /dev/sdb: I/O error, can't   retry  ");
		Assert.Equal(Verb.Error, m.Verb);
		Assert.Equal("read /dev/sdb: I/O error, can't   retry", m.Text);
		Assert.Empty(m.Keys);

		m = Parse.Line("fail vm 4096 4096 'quoted' x=1 stays as text");
		Assert.Equal("'quoted' x=1 stays as text", m.Text);
		Assert.Empty(m.Keys);

		Assert.Equal("unspecified error", Parse.Line("error vm 0 4096").Text);
		Assert.Equal("unspecified error", Parse.Line("fail vm 0 4096   ").Text);
	}

	[Theory]
	[InlineData("", "empty message")]
	[InlineData("frob vm 0 4096", "unknown verb 'frob'")]
	[InlineData("READ vm 0 4096", "unknown verb 'READ'")]
	[InlineData("read vm 12x 4096", "bad offset '12x'")]
	[InlineData("read vm 0 0x", "bad length '0x'")]
	[InlineData("read vm 0 4096.0", "bad length '4096.0'")]
	[InlineData("read vm 0x8000000000000000 4096", "bad offset '0x8000000000000000'")]
	[InlineData("read vm 99999999999999999999 4096", "bad offset '99999999999999999999'")]
	[InlineData("file vm 0 4096 /x y", "bad file offset 'y'")]
	[InlineData("read vm -4096 4096", "bad offset '-4096'")]
	[InlineData("read vm 0 -1", "bad length '-1'")]
	[InlineData("read vm 0 +1", "bad length '+1'")]
	[InlineData("sync vm -1", "bad sequence number '-1'")]
	[InlineData("read vm 0", "read needs MAP OFF LEN")]
	[InlineData("read", "read needs MAP OFF LEN")]
	[InlineData("file vm 0 4096 /x", "file needs MAP OFF LEN PATH FOFF")]
	[InlineData("sync vm", "sync needs MAP SEQ")]
	[InlineData("error vm 0", "error needs MAP OFF LEN MESSAGE")]
	[InlineData("read vm 0 0", "zero length")]
	[InlineData("data vm 0 0x0", "zero length")]
	[InlineData("read vm 9223372036854775807 1", "range overflows")]
	[InlineData("read ../x 0 4096", "bad map name '../x'")]
	[InlineData("read a/b 0 4096", "bad map name 'a/b'")]
	[InlineData("read .vm 0 4096", "bad map name '.vm'")]
	[InlineData("read ctl 0 4096", "bad map name 'ctl'")]
	[InlineData("read sock 0 4096", "bad map name 'sock'")]
	[InlineData("read '' 0 4096", "bad map name ''")]
	[InlineData("read 'v m' 0 4096", "bad map name 'v m'")]
	[InlineData("read 01234567890123456789012345678901234567890123456789012345678901234 0 4096", "bad map name")]
	[InlineData("file vm 0 4096 '/tmp/a b 0", "unbalanced quote")]
	[InlineData("read vm 0 4096 it's", "unbalanced quote")]
	[InlineData("read vm 0 4096 junk", "bad field 'junk' (want key=value)")]
	[InlineData("read vm 0 4096 k=v junk", "bad field 'junk'")]
	[InlineData("read vm 0 4096 =v", "bad field '=v'")]
	[InlineData("sync vm 1 2", "bad field '2'")]
	public void Malformed(string line, string why)
	{
		var e = Bad(line);
		Assert.Contains(why, e.Message);
		Assert.Contains($"'{line}'", e.Message);
	}

	[Fact]
	public void MalformedLongLineClipped()
	{
		var line = "frob vm 0 4096 " + new string('k', 500) + "=v";
		var e = Bad(line);
		Assert.Contains("unknown verb 'frob'", e.Message);
		Assert.Contains("'frob vm 0 4096 kkk", e.Message);
		Assert.True(e.Message.Length < 300, e.Message);
	}

	// Decoder

	const string Stream = "# a trace\n"
		+ "read vm 0 4096\n"
		+ "data vm 0 14\nread vm 0 1\n\0\n"   // a payload that looks like a line
		+ "\n"
		+ "file vm 4096 4096 '/tmp/ünï cödé' 0 k=v\n"
		+ "write vm 8192 3\nabc"
		+ "sync vm 1\n"
		+ "error vm 12288 4096 no such block\n";

	static void CheckStream(List<Msg> msgs)
	{
		Assert.Equal(["read vm 0 4096", "data vm 0 14", "file vm 4096 4096 '/tmp/ünï cödé' 0 k=v",
			"write vm 8192 3", "sync vm 1", "error vm 12288 4096 no such block"], msgs.Select(m => m.Line));
		Assert.Null(msgs[0].Payload);
		Assert.Equal(B("read vm 0 1\n\0\n"), msgs[1].Payload);
		Assert.Equal("/tmp/ünï cödé", msgs[2].Path);
		Assert.Equal("v", msgs[2].Key("k"));
		Assert.Equal(B("abc"), msgs[3].Payload);
		Assert.Equal(1, msgs[4].Seq);
		Assert.Equal("no such block", msgs[5].Text);
	}

	[Fact]
	public void DecodeWhole()
	{
		var (msgs, errors) = Decode(B(Stream));
		Assert.Empty(errors);
		CheckStream(msgs);
	}

	[Fact]
	public void DecodeByteAtATime()
	{
		var (msgs, errors) = Decode(B(Stream), true);
		Assert.Empty(errors);
		CheckStream(msgs);
	}

	[Fact]
	public void DecodeEverySplit()
	{
		var input = B(Stream);
		for (int i = 0; i <= input.Length; i++)
		{
			var msgs = new List<Msg>();
			var errors = new List<string>();
			var d = new Decoder();
			d.Feed(input.AsSpan(0, i), msgs.Add, errors.Add);
			d.Feed(input.AsSpan(i), msgs.Add, errors.Add);
			d.End(errors.Add);
			Assert.Empty(errors);
			CheckStream(msgs);
		}
	}

	[Theory]
	[InlineData(false)]
	[InlineData(true)]
	public void DecodeLongLine(bool bytewise)
	{
		var input = B(new string('x', 5000) + "\nread vm 0 4096\n" + new string('y', 4097) + "\nsync vm 2\n");
		var (msgs, errors) = Decode(input, bytewise);
		Assert.Equal(2, errors.Count);
		Assert.Contains("longer than 4096", errors[0]);
		Assert.Contains("'xxxxxxxx", errors[0]);
		Assert.Contains("'yyyyyyyy", errors[1]);
		Assert.Equal(["read vm 0 4096", "sync vm 2"], msgs.Select(m => m.Line));
	}

	[Fact]
	public void DecodeLineOfMaxLength()
	{
		var line = "read vm 0 4096".PadRight(Decoder.MaxLine);
		var (msgs, errors) = Decode(B(line + "\n"));
		Assert.Empty(errors);
		Assert.Single(msgs);
		(msgs, errors) = Decode(B(line + " \n"));
		Assert.Empty(msgs);
		Assert.Contains("longer than 4096", Assert.Single(errors));
	}

	[Theory]
	[InlineData(false)]
	[InlineData(true)]
	public void DecodeMalformedBetweenGood(bool bytewise)
	{
		var (msgs, errors) = Decode(B("read vm 0 4096\nread vm zero 4096\nread vm 4096 4096\n"), bytewise);
		Assert.Equal(["read vm 0 4096", "read vm 4096 4096"], msgs.Select(m => m.Line));
		Assert.Contains("bad offset 'zero' in 'read vm zero 4096'", Assert.Single(errors));
	}

	[Fact]
	public void DecodeEndShortPayload()
	{
		var msgs = new List<Msg>();
		var errors = new List<string>();
		var d = new Decoder();
		d.Feed(B("data vm 0 10\nabc"), msgs.Add, errors.Add);
		Assert.True(d.Partial);
		d.End(errors.Add);
		Assert.Empty(msgs);
		Assert.Contains("payload short: 3 of 10 bytes in 'data vm 0 10'", Assert.Single(errors));
		Assert.False(d.Partial);

		// It starts afresh.
		d.Feed(B("read vm 0 4096\n"), msgs.Add, errors.Add);
		Assert.Equal("read vm 0 4096", Assert.Single(msgs).Line);
	}

	[Fact]
	public void DecodeEndNoNewline()
	{
		var (msgs, errors) = Decode(B("read vm 0 4096\nread vm 4096 4096"));
		Assert.Equal("read vm 0 4096", Assert.Single(msgs).Line);
		Assert.Contains("without newline", Assert.Single(errors));
		Assert.Contains("'read vm 4096 4096'", errors[0]);
	}

	[Fact]
	public void DecodeSkipsCommentsAndBlanks()
	{
		var (msgs, errors) = Decode(B("# one\n\n   \n\t\n  # two\r\nread vm 0 4096\r\n#\n"));
		Assert.Empty(errors);
		Assert.Equal(4096, Assert.Single(msgs).Len);
	}

	[Fact]
	public void DecodeOversizedPayloadSkipped()
	{
		long len = Decoder.MaxPayload + 1L;
		var msgs = new List<Msg>();
		var errors = new List<string>();
		var d = new Decoder();
		d.Feed(B($"data vm 0 {len}\n"), msgs.Add, errors.Add);
		var chunk = new byte[1 << 20];
		chunk.AsSpan().Fill((byte)'\n');
		for (long left = len; left > 0; left -= chunk.Length)
			d.Feed(chunk.AsSpan(0, (int)Math.Min(left, chunk.Length)), msgs.Add, errors.Add);
		d.Feed(B("read vm 0 4096\n"), msgs.Add, errors.Add);
		d.End(errors.Add);
		Assert.Contains($"payload of {len} bytes is larger", Assert.Single(errors));
		Assert.Equal("read vm 0 4096", Assert.Single(msgs).Line);
	}

	// Frames

	[Theory]
	[InlineData(1)]
	[InlineData(4095)]
	[InlineData(4096)]
	[InlineData(4097)]
	[InlineData(1 << 20)]
	public void DataFrames(int size)
	{
		var data = new byte[size];
		new Random(size).NextBytes(data);
		const long off = 1L << 40;
		var all = new MemoryStream();
		var frames = Format.DataFrames("vm", off, data).ToList();
		for (int i = 0; i < frames.Count; i++)
		{
			var f = frames[i];
			Assert.True(f.Length <= Format.PipeBuf, $"frame {i} is {f.Length} bytes");
			if (i < frames.Count - 1)
				Assert.True(f.Length > Format.PipeBuf - 64, $"frame {i} is only {f.Length} bytes");
			// Each frame is a whole message by itself.
			var (msgs, errors) = Decode(f);
			Assert.Empty(errors);
			var m = Assert.Single(msgs);
			Assert.Equal(Verb.Data, m.Verb);
			Assert.Equal("vm", m.Map);
			Assert.Equal(off + all.Length, m.Off);
			Assert.Equal(m.Len, m.Payload!.Length);
			all.Write(m.Payload);
		}
		Assert.Equal(data, all.ToArray());
	}

	// Numbers

	[Theory]
	[InlineData("64m", 64L << 20)]
	[InlineData("4k", 4096)]
	[InlineData("4K", 4096)]
	[InlineData("0x1000", 4096)]
	[InlineData("0x10k", 16384)]
	[InlineData("1g", 1L << 30)]
	[InlineData("2t", 2L << 40)]
	[InlineData("0", 0)]
	[InlineData("4097", 4097)]
	public void Size(string s, long want) => Assert.Equal(want, Num.Size(s, "size"));

	[Theory]
	[InlineData("")]
	[InlineData("k")]
	[InlineData("4x")]
	[InlineData("-4k")]
	[InlineData("4 k")]
	[InlineData("0x")]
	[InlineData("8388608t")]
	public void BadSize(string s)
	{
		var e = Assert.Throws<ProtocolException>(() => Num.Size(s, "size"));
		Assert.Contains($"bad size '{s}'", e.Message);
	}

	[Theory]
	[InlineData("100ms", 100)]
	[InlineData("5s", 5000)]
	[InlineData("2m", 120_000)]
	[InlineData("1h", 3_600_000)]
	[InlineData("3", 3000)]
	[InlineData("0", 0)]
	public void Duration(string s, long ms) => Assert.Equal(TimeSpan.FromMilliseconds(ms), Num.Duration(s, "timeout"));

	[Theory]
	[InlineData("")]
	[InlineData("ms")]
	[InlineData("s")]
	[InlineData("5 s")]
	[InlineData("1.5s")]
	[InlineData("-1s")]
	[InlineData("5d")]
	[InlineData("9223372036854775807ms")]
	[InlineData("9223372036854775807s")]
	[InlineData("9223372036854775807m")]
	[InlineData("9223372036854775807h")]
	[InlineData("9223372036854775807")]
	public void BadDuration(string s)
	{
		var e = Assert.Throws<ProtocolException>(() => Num.Duration(s, "timeout"));
		Assert.Contains($"bad timeout '{s}'", e.Message);
	}

	[Theory]
	[InlineData(4096, "4k")]
	[InlineData(64L << 20, "64m")]
	[InlineData(4097, "4097")]
	[InlineData(0, "0")]
	[InlineData(3L << 40, "3t")]
	public void SizeString(long v, string s)
	{
		Assert.Equal(s, Num.SizeString(v));
		Assert.Equal(v, Num.Size(s, "size"));
	}
}
