using System.Text;

namespace Pager.Protocol;

/// Splits a line into fields the way Plan 9's tokenize does: blanks
/// separate, single quotes group, and '' inside quotes is a quote.
public static class Fields
{
	public static List<string> Split(string line) => Split(line, int.MaxValue, out _);

	/// Splits at most max fields; rest is what follows them, untouched.
	public static List<string> Split(string line, int max, out string rest)
	{
		var f = new List<string>(8);
		int i = 0;
		rest = "";
		while (true)
		{
			int skip = line.AsSpan(i).IndexOfAnyExcept(" \t\r");
			if (skip < 0)
				return f;
			i += skip;
			if (f.Count == max)
			{
				rest = line[i..].TrimEnd();
				return f;
			}
			// Most fields have no quotes: take them whole.
			int e = line.AsSpan(i).IndexOfAny(" \t\r'");
			e = e < 0 ? line.Length : i + e;
			if (e == line.Length || IsBlank(line[e]))
			{
				f.Add(line[i..e]);
				i = e;
				continue;
			}
			var b = new StringBuilder();
			bool quoted = false;
			for (; i < line.Length; i++)
			{
				char c = line[i];
				if (c == '\'')
				{
					if (quoted && i + 1 < line.Length && line[i + 1] == '\'')
					{
						b.Append('\'');
						i++;
					}
					else
						quoted = !quoted;
				}
				else if (!quoted && IsBlank(c))
					break;
				else
					b.Append(c);
			}
			if (quoted)
				throw new ProtocolException($"unbalanced quote in '{Parse.Clip(line)}'");
			f.Add(b.ToString());
		}
	}

	/// Quotes a field if it needs it, so that Split gives it back.
	public static string Quote(string s) => s.Length > 0 && !NeedsQuote(s) ? s : "'" + s.Replace("'", "''") + "'";

	/// Whether s has a blank or a quote in it.
	public static bool NeedsQuote(ReadOnlySpan<char> s) => s.IndexOfAny(" \t\r'") >= 0;

	static bool IsBlank(char c) => c is ' ' or '\t' or '\r';
}
