namespace Pager.Protocol;

/// The words of a header line, as Fields.Split gives them. A line
/// without quotes, the usual one, is split without copying: its words are
/// slices of it. A line with quotes is split by Fields.Split.
readonly ref struct Words
{
	readonly string line;
	readonly Span<Range> at;
	readonly List<string>? split;

	public int Count { get; }
	/// With a limit, what follows the words, untouched.
	public string Rest { get; }

	/// Splits at most max words of line, into at when they fit.
	public Words(string line, int max, Span<Range> at)
	{
		this.line = line;
		this.at = at;
		Rest = "";
		var s = line.AsSpan();
		if (s.Contains('\''))
		{
			split = Fields.Split(line, max, out var rest);
			(Count, Rest) = (split.Count, rest);
			return;
		}
		for (int i = 0; ; )
		{
			int skip = s[i..].IndexOfAnyExcept(" \t\r");
			if (skip < 0)
				break;
			i += skip;
			if (Count == max)
			{
				Rest = line[i..].TrimEnd();
				break;
			}
			if (Count == at.Length)
			{
				// More words than room: Split them after all.
				split = Fields.Split(line, max, out var rest);
				(Count, Rest) = (split.Count, rest);
				return;
			}
			int e = s[i..].IndexOfAny(" \t\r");
			e = e < 0 ? s.Length : i + e;
			at[Count++] = i..e;
			i = e;
		}
	}

	public ReadOnlySpan<char> this[int k] => split is null ? line.AsSpan()[at[k]] : split[k];

	public string String(int k) => split is null ? line[at[k]] : split[k];
}
