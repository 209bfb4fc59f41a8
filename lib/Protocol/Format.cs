using System.Text;

namespace Pager.Protocol;

/// The one formatter: messages back into lines and frames.
public static class Format
{
	/// PIPE_BUF: writes to a FIFO up to this size are never interleaved.
	public const int PipeBuf = 4096;

	/// The header line of m, without its newline.
	public static string Header(Msg m)
	{
		var b = new StringBuilder(Verbs.Name(m.Verb)).Append(' ').Append(m.Map);
		if (Verbs.HasSeq(m.Verb))
			b.Append(' ').Append(m.Seq);
		else
			b.Append(' ').Append(m.Off).Append(' ').Append(m.Len);
		if (m.Verb == Verb.File)
			b.Append(' ').Append(Fields.Quote(m.Path)).Append(' ').Append(m.FileOff);
		foreach (var kv in m.Keys)
			b.Append(' ').Append(Fields.Quote(kv.Key + "=" + kv.Value));
		if (Verbs.HasText(m.Verb))
			b.Append(' ').Append(m.Text.Replace('\n', ' '));
		return b.ToString();
	}

	/// The whole message: header line, newline, payload.
	public static byte[] Bytes(Msg m)
	{
		var head = Encoding.UTF8.GetBytes(Header(m) + "\n");
		if (m.Payload is null)
			return head;
		var all = new byte[head.Length + m.Payload.Length];
		head.CopyTo(all, 0);
		m.Payload.CopyTo(all, head.Length);
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
