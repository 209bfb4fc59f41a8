using System.Text;

namespace Pager.Protocol;

/// Turns a byte stream into messages, resynchronising at the next line
/// after anything malformed. Push bytes in with Feed; call End at end of
/// input. Used by pagerd on its FIFOs and by every command on its input.
public sealed class Decoder
{
	/// A header line longer than a page is malformed.
	public const int MaxLine = 4096;
	/// The largest payload one message may carry.
	public const int MaxPayload = 64 << 20;

	readonly byte[] line = new byte[MaxLine];
	int lineLen;
	bool skipping;   // discarding the rest of an overlong line
	Msg? pending;    // a data or write header waiting for its payload
	int got;
	long discard;    // payload bytes of a refused message still to skip

	/// Bytes of input taken so far. Inside the message handler it is the
	/// position just past that message, and inside the error handler just
	/// past the input that showed it malformed, so a caller that keeps the
	/// input can find the exact bytes of each message.
	public long Pos { get; private set; }

	public delegate void MsgHandler(Msg m);
	public delegate void ErrorHandler(string error);

	public void Feed(ReadOnlySpan<byte> data, MsgHandler onMsg, ErrorHandler onError)
	{
		while (data.Length > 0)
		{
			if (discard > 0)
			{
				int n = (int)Math.Min(discard, data.Length);
				discard -= n;
				Pos += n;
				data = data[n..];
			}
			else if (pending is not null)
			{
				int n = Math.Min(pending.Payload!.Length - got, data.Length);
				data[..n].CopyTo(pending.Payload.AsSpan(got));
				got += n;
				Pos += n;
				data = data[n..];
				if (got == pending.Payload.Length)
				{
					var m = pending;
					pending = null;
					onMsg(m);
				}
			}
			else
				data = FeedLine(data, onMsg, onError);
		}
	}

	ReadOnlySpan<byte> FeedLine(ReadOnlySpan<byte> data, MsgHandler onMsg, ErrorHandler onError)
	{
		int nl = data.IndexOf((byte)'\n');
		var chunk = nl < 0 ? data : data[..nl];
		Pos += nl < 0 ? data.Length : nl + 1;
		if (skipping)
		{
			if (nl >= 0)
				skipping = false;
		}
		else if (lineLen + chunk.Length > MaxLine)
		{
			// Quote its start: what was kept, or else this chunk.
			var start = lineLen > 0 ? line.AsSpan(0, lineLen) : chunk[..MaxLine];
			onError($"line longer than {MaxLine} bytes: '{Parse.Clip(Text(start))}'");
			lineLen = 0;
			skipping = nl < 0;
		}
		else
		{
			chunk.CopyTo(line.AsSpan(lineLen));
			lineLen += chunk.Length;
			if (nl >= 0)
			{
				var text = Text(line.AsSpan(0, lineLen));
				lineLen = 0;
				Header(text, onMsg, onError);
			}
		}
		return nl < 0 ? [] : data[(nl + 1)..];
	}

	void Header(string text, MsgHandler onMsg, ErrorHandler onError)
	{
		var t = text.AsSpan().Trim();
		if (t.IsEmpty || t[0] == '#')
			return; // blank lines and comments, so traces can be annotated
		Msg m;
		try
		{
			m = Parse.Line(text);
		}
		catch (ProtocolException e)
		{
			onError(e.Message);
			return;
		}
		if (!Verbs.HasPayload(m.Verb))
		{
			onMsg(m);
			return;
		}
		if (m.Len > MaxPayload)
		{
			onError($"payload of {m.Len} bytes is larger than {MaxPayload} in '{Parse.Clip(text)}'");
			discard = m.Len;
			return;
		}
		m.Payload = new byte[m.Len];
		pending = m;
		got = 0;
	}

	/// At end of input: reports a message cut short and starts afresh.
	public void End(ErrorHandler onError)
	{
		if (pending is not null)
			onError($"payload short: {got} of {pending.Len} bytes in '{Parse.Clip(pending.Line)}'");
		else if (lineLen > 0 && !skipping)
			onError($"line without newline at end of input: '{Parse.Clip(Text(line.AsSpan(0, lineLen)))}'");
		pending = null;
		lineLen = 0;
		skipping = false;
		discard = 0;
	}

	/// True when the decoder holds part of a message.
	public bool Partial => pending is not null || lineLen > 0 || skipping || discard > 0;

	static string Text(ReadOnlySpan<byte> b) => Encoding.UTF8.GetString(b);
}
