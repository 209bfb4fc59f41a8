using System.Text;

namespace Pager.Protocol;

/// The one parser of message header lines.
public static class Parse
{
	/// Parses a header line (no newline). Throws ProtocolException with a
	/// message that quotes the line.
	public static Msg Line(string line)
	{
		// Lines are UTF-8, which cannot carry a lone surrogate: one becomes
		// U+FFFD here as it would on the wire, so that what Format writes
		// of the message parses back to the same.
		if (line.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') >= 0)
			line = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(line));
		try
		{
			return Fields0(line);
		}
		catch (ProtocolException e)
		{
			throw new ProtocolException($"{e.Message} in '{Clip(line)}'");
		}
	}

	static Msg Fields0(string line)
	{
		var first = line.AsSpan().TrimStart(" \t\r");
		int sp = first.IndexOfAny(" \t\r");
		var word = sp < 0 ? first : first[..sp];
		if (word.Length == 0)
			throw new ProtocolException("empty message");
		if (!Verbs.TryParse(word, out var verb))
			throw new ProtocolException($"unknown verb '{Fields.Split(line)[0]}'");

		// error and fail end in free text; everything else in key=value fields.
		int fixedCount = verb switch
		{
			Verb.File => 6,
			Verb.Sync or Verb.Synced => 3,
			_ => 4,
		};
		Span<Range> at = stackalloc Range[16];
		var f = new Words(line, Verbs.HasText(verb) ? fixedCount : int.MaxValue, at);
		if (f.Count < fixedCount)
			throw new ProtocolException($"{word} needs {Usage(verb)}");

		var m = new Msg { Verb = verb, Map = f.String(1), Line = line };
		Names.CheckMap(m.Map);
		if (Verbs.HasSeq(verb))
			m.Seq = Num.Parse(f[2], "sequence number");
		else
		{
			m.Off = Num.Parse(f[2], "offset");
			m.Len = Num.Parse(f[3], "length");
			if (m.Len == 0)
				throw new ProtocolException("zero length");
			if (m.Off > long.MaxValue - m.Len)
				throw new ProtocolException("range overflows");
		}
		if (verb == Verb.File)
		{
			m.Path = f.String(4);
			m.FileOff = Num.Parse(f[5], "file offset");
		}
		if (Verbs.HasText(verb))
			m.Text = f.Rest.Length > 0 ? f.Rest : "unspecified error";
		m.Keys = new KeyValues();
		for (int k = fixedCount; k < f.Count; k++)
			m.Keys.Take(f[k]);
		return m;
	}

	public static string Usage(Verb v) => v switch
	{
		Verb.File => "MAP OFF LEN PATH FOFF",
		Verb.Sync or Verb.Synced => "MAP SEQ",
		Verb.Error or Verb.Fail => "MAP OFF LEN MESSAGE",
		_ => "MAP OFF LEN",
	};

	internal static string Clip(string s) => s.Length <= 120 ? s : s[..117] + "...";
}
