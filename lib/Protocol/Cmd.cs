namespace Pager.Protocol;

/// One control verb: its name, its arguments as pagerd(8) writes them,
/// and where it is taken. The arguments are the grammar: a word in
/// capitals is a value, a word in lower case is itself, key=VALUE is that
/// field, key=a|b that field with one of those values, key=value... any
/// fields; anything in brackets may be left out.
public sealed class Cmd
{
	public readonly string Name, Args, About;
	public readonly From From;
	internal readonly List<Arg> Spec;

	public Cmd(string name, string args, string about, From from = From.Anywhere)
	{
		Name = name;
		Args = args;
		About = about;
		From = from;
		Spec = [.. Arg.Parse(args)];
	}

	public string Usage => Args.Length == 0 ? Name : $"{Name} {Args}";

	/// The values that must come first, by name (NAME, SIZE).
	public IEnumerable<string> Required => Spec.TakeWhile(a => a.IsValue && !a.Optional).Select(a => a.Word);

	/// The grammar after those, as written, or null if nothing follows.
	public string? Rest => string.Join(' ', Args.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(Required.Count())) is { Length: > 0 } r ? r : null;
}
