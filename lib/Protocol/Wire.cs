using System.Text;

namespace Pager.Protocol;

/// The socket protocol between pagerd and whoever connects: a request is
/// one control line (Cmdtab); its reply is `ok N` and N lines, or
/// `err MESSAGE`; notes, `note TEXT`, come unasked between replies. The
/// one formatter and parser of both ends; see pager(7).
public static class Wire
{
	public static string Ok(IReadOnlyList<string> body)
	{
		var b = new StringBuilder($"ok {body.Count}\n");
		foreach (var l in body)
			b.Append(OneLine(l)).Append('\n');
		return b.ToString();
	}

	public static string Err(string message) => $"err {Fit(OneLine(message), Decoder.MaxLine - 4)}\n";

	public static string Note(string text) => $"note {Fit(OneLine(text), Decoder.MaxLine - 5)}\n";

	static string OneLine(string s) => s.Replace('\n', ' ');

	/// s cut to at most max bytes of UTF-8: a refusal quoting a long word
	/// must still be a line a client takes, or it would wait for it.
	static string Fit(string s, int max)
	{
		if (Encoding.UTF8.GetByteCount(s) <= max)
			return s;
		int n = Math.Min(s.Length, max - 3);
		while (Encoding.UTF8.GetByteCount(s.AsSpan(0, n)) > max - 3)
			n--;
		return s[..n] + "...";
	}

	/// A note's text, or null if the line is not a note.
	public static string? NoteText(string line) => line.StartsWith("note ", StringComparison.Ordinal) ? line[5..] : null;

	/// The first line of a reply: how many lines follow, or the error
	/// (PagerdError). Anything else is a protocol error quoting it.
	public static int Head(string line)
	{
		if (line.StartsWith("err ", StringComparison.Ordinal))
			throw new PagerdError(line[4..]);
		if (line.StartsWith("ok ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(3), out int n) && n >= 0)
			return n;
		throw new ProtocolException($"bad reply '{Parse.Clip(line)}' (want ok N or err MESSAGE)");
	}

	public static string Attach(string map, bool readOnly) => $"attach {Fields.Quote(map)} mode={Mode(readOnly)}";

	public static string Uffd(string map, ulong @base, bool readOnly) =>
		$"uffd {Fields.Quote(map)} base=0x{@base:x} mode={Mode(readOnly)}";

	public static string Detach(string map) => $"detach {Fields.Quote(map)}";

	public static string Mode(bool readOnly) => readOnly ? "ro" : "rw";
}
