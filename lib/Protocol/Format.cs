using System.Text;

namespace Pager.Protocol;

/// The one formatter: messages back into lines and frames. A header is
/// written as UTF-8 straight into the caller's buffer, so the fault path
/// builds no strings.
public static class Format
{
	/// PIPE_BUF: writes to a FIFO up to this size are never interleaved.
	public const int PipeBuf = 4096;

	/// The header line of m, without its newline.
	public static string Header(Msg m)
	{
		int max = MaxHeader(m);
		Span<byte> b = max <= 1024 ? stackalloc byte[max] : new byte[max];
		return Encoding.UTF8.GetString(b[..Header(m, b)]);
	}

	/// Writes the header line of m, without its newline, into dst, which
	/// holds at least MaxHeader(m) bytes; returns the bytes written.
	public static int Header(Msg m, Span<byte> dst)
	{
		var o = new LineWriter(dst);
		o.Ascii(Verbs.Name(m.Verb));
		o.Space();
		o.Chars(m.Map);
		if (Verbs.HasSeq(m.Verb))
		{
			o.Space();
			o.Num(m.Seq);
		}
		else
		{
			o.Space();
			o.Num(m.Off);
			o.Space();
			o.Num(m.Len);
		}
		if (m.Verb == Verb.File)
		{
			o.Space();
			o.Word(m.Path);
			o.Space();
			o.Num(m.FileOff);
		}
		foreach (var kv in m.Keys)
		{
			o.Space();
			o.Key(kv.Key, kv.Value);
		}
		if (Verbs.HasText(m.Verb))
		{
			o.Space();
			o.Line(m.Text);
		}
		return o.Written;
	}

	/// The most bytes Header can write for m: every character three bytes
	/// of UTF-8, doubled where a quote is; numbers and separators aside.
	public static int MaxHeader(Msg m)
	{
		int chars = m.Map.Length + m.Path.Length + m.Text.Length;
		foreach (var kv in m.Keys)
			chars += kv.Key.Length + kv.Value.Length + 4;
		return 6 * chars + 96;
	}

	/// The whole message: header line, newline, payload.
	public static byte[] Bytes(Msg m)
	{
		int max = MaxHeader(m);
		Span<byte> b = max <= 1024 ? stackalloc byte[max] : new byte[max];
		int n = Header(m, b);
		var all = new byte[n + 1 + (m.Payload?.Length ?? 0)];
		b[..n].CopyTo(all);
		all[n] = (byte)'\n';
		m.Payload?.CopyTo(all, n + 1);
		return all;
	}

	/// Splits inline data for off.. into data messages of at most PIPE_BUF
	/// bytes each, so every one can go to a shared fill FIFO in one write.
	public static IEnumerable<byte[]> DataFrames(string map, long off, ReadOnlyMemory<byte> bytes)
	{
		int done = 0;
		while (done < bytes.Length)
		{
			// The header is at most ~100 bytes; take what fits of the rest.
			var probe = Encoding.UTF8.GetByteCount($"data {map} {off + done} {PipeBuf}\n");
			int n = Math.Min(bytes.Length - done, PipeBuf - probe);
			var m = Msg.Range(Verb.Data, map, off + done, n);
			m.Payload = bytes.Slice(done, n).ToArray();
			yield return Bytes(m);
			done += n;
		}
	}
}
