using System.Text;
using Pager.Protocol;

namespace Pager.Faultcat;

/// faultcat -x: one line a message, in columns awk can take apart:
/// time verb map offset page length tid, then what else it carries.
static class Show
{
	const long Page = 4096;

	public static string Line(Msg m, DateTime t)
	{
		var b = new StringBuilder();
		b.Append(t.ToString("HH:mm:ss.ffffff")).Append(' ').Append(Verbs.Name(m.Verb).PadRight(5)).Append(' ').Append(m.Map);
		if (Verbs.HasSeq(m.Verb))
			b.Append(" - - - -");
		else
			b.Append(' ').Append($"0x{m.Off:x}".PadRight(10)).Append(' ').Append(PageOf(m.Off).PadRight(6))
				.Append(' ').Append(Length(m.Len).PadRight(4)).Append(' ').Append((m.Key("tid") ?? "-").PadRight(6));
		foreach (var s in Rest(m))
			b.Append(' ').Append(s);
		return b.ToString().TrimEnd() + "\n";
	}

	/// The page number, with the byte within the page when not aligned.
	static string PageOf(long off) => off % Page == 0 ? $"p{off / Page}" : $"p{off / Page}+0x{off % Page:x}";

	/// Whole pages as 3p, anything else in bytes as 100b.
	static string Length(long len) => len % Page == 0 ? $"{len / Page}p" : $"{len}b";

	static IEnumerable<string> Rest(Msg m)
	{
		if (Verbs.HasSeq(m.Verb))
			yield return $"seq={m.Seq}";
		if (m.Verb == Verb.File)
		{
			yield return Fields.Quote(m.Path);
			yield return $"0x{m.FileOff:x}";
		}
		foreach (var kv in m.Keys)
			if (kv.Key != "tid")
				yield return Fields.Quote(kv.Key + "=" + kv.Value);
		if (Verbs.HasText(m.Verb))
			yield return m.Text;
	}
}
