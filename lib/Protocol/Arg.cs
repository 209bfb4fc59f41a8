namespace Pager.Protocol;

/// One word of a verb's grammar.
sealed record Arg(string Word, bool Optional)
{
	public bool IsValue => Word.All(c => char.IsAsciiLetterUpper(c) || c == '_');
	public bool IsFields => Word == "key=value...";
	public bool IsField => Word.Contains('=') && !IsFields;
	public string Key => Word[..Word.IndexOf('=')];
	/// key=a|b: the values allowed; key=VALUE: null, any.
	public string[]? Choices => Word[(Word.IndexOf('=') + 1)..] is var v && v.Any(char.IsAsciiLetterLower) ? v.Split('|') : null;

	public static IEnumerable<Arg> Parse(string args)
	{
		int depth = 0;
		foreach (var w in args.Split(' ', StringSplitOptions.RemoveEmptyEntries))
		{
			depth += w.TakeWhile(c => c == '[').Count();
			yield return new Arg(w.Trim('[', ']'), depth > 0);
			depth -= w.Reverse().TakeWhile(c => c == ']').Count();
		}
	}
}
