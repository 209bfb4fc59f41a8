using System.Text;
using Decoder = Pager.Protocol.Decoder;
using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Faultcat;

/// Copies a request stream to standard output, message by message:
/// the exact bytes of each well-formed message that passes the filter,
/// or its readable form, comments kept as they are. Malformed input is
/// reported and left out.
sealed class Cat(Filter filter, bool readable, Tally? tally)
{
	readonly Decoder dec = new();
	readonly Hold hold = new();
	readonly Out o = new();
	long mark;   // where the bytes of the next message begin
	bool junk;   // the decoder may still be skipping a malformed message
	public long Malformed { get; private set; }

	/// Reads fd to its end, copying every chunk to tee first when tee >= 0.
	public void Run(int fd, string what, int tee, string teeName)
	{
		var buf = new byte[64 << 10];
		int n;
		while ((n = Posix.Read(fd, buf, what)) > 0)
		{
			var d = buf.AsSpan(0, n);
			if (tee >= 0)
				Posix.WriteAll(tee, d, teeName);
			hold.Add(d, mark);
			dec.Feed(d, OnMsg, OnError);
			if (junk)
				Skip();
			o.Flush();
		}
		long bad = Malformed;
		dec.End(OnError);
		// Left over: comments and blank lines, unless End found a message cut short.
		if (Malformed == bad && filter.All && dec.Pos > mark)
		{
			if (readable)
				Comments(hold.Span(mark, dec.Pos));
			else
				o.Write(hold.Span(mark, dec.Pos));
		}
		o.Flush();
	}

	void OnMsg(Msg m)
	{
		long start = mark;
		if (junk)
		{
			// After a malformed message only this message's own bytes are known good.
			start = Math.Max(mark, dec.Pos - RawLen(m));
			junk = false;
		}
		mark = dec.Pos;
		if (!filter.Pass(m))
			return;
		tally?.Add(m);
		if (readable)
		{
			Comments(hold.Span(start, Math.Max(start, mark - RawLen(m))));
			o.Write(Encoding.UTF8.GetBytes(Show.Line(m, DateTime.Now)));
		}
		else
			o.Write(hold.Span(start, mark));
	}

	/// The comment lines among the lines before a message.
	void Comments(ReadOnlySpan<byte> lines)
	{
		while (lines.Length > 0)
		{
			int nl = lines.IndexOf((byte)'\n');
			var l = nl < 0 ? lines : lines[..(nl + 1)];
			if (l[0] == (byte)'#')
				o.Write(l);
			lines = lines[l.Length..];
		}
	}

	void OnError(string e)
	{
		Console.Error.Write($"faultcat: {e}\n");
		Malformed++;
		tally?.Malformed();
		mark = dec.Pos;
		junk = true;
	}

	/// Drops what the decoder skips after a malformed message: all of it
	/// once the decoder is clear, else all but what the next message
	/// could span, so that garbage without newlines cannot fill memory.
	void Skip()
	{
		if (!dec.Partial)
		{
			mark = dec.Pos;
			junk = false;
		}
		else
			mark = Math.Max(mark, dec.Pos - (Decoder.MaxLine + 1 + Decoder.MaxPayload));
	}

	static long RawLen(Msg m) => Encoding.UTF8.GetByteCount(m.Line) + 1 + (m.Payload?.Length ?? 0);
}
