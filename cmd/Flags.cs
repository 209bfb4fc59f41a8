using System.CommandLine;

namespace Pager.Cmd;

/// A Plan 9 command line over System.CommandLine: one-letter flags, at
/// most one operand, -h printing the usage and the manual's flag lines,
/// and every mistake said in one line, then the usage, exit status 1.
sealed class Flags
{
	readonly string name, usage, help;
	readonly RootCommand root;
	readonly Option<bool> h = new("-h");
	Argument<string>? operand;

	public Flags(string name, string usage, string help)
	{
		this.name = name;
		this.usage = usage;
		this.help = help;
		root = new RootCommand(name);
		root.Options.Clear(); // the stock -h and --version; ours is Plan 9's
		root.Directives.Clear();
		root.Options.Add(h);
	}

	public Option<bool> Bool(string flag) => Add(new Option<bool>(flag));
	public Option<string> Value(string flag) => Add(new Option<string>(flag));

	public Argument<string> Operand(string what)
	{
		operand = new Argument<string>(what) { Arity = ArgumentArity.ZeroOrOne };
		root.Arguments.Add(operand);
		return operand;
	}

	T Add<T>(T o) where T : Option
	{
		root.Options.Add(o);
		return o;
	}

	/// Parses args; exits with the usage on a mistake, or after -h.
	public ParseResult Parse(string[] args)
	{
		var p = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
		// The parser takes an unknown option for the operand.
		var first = operand is null ? null : p.GetResult(operand)?.Tokens.FirstOrDefault()?.Value;
		if (first is not null && first.StartsWith('-') && first != "-" && !args.Contains("--"))
			Exit($"unknown option '{first}'");
		if (p.Errors.Count > 0)
			Exit(p.Errors[0].Message.TrimEnd('.'));
		if (p.GetValue(h))
		{
			Console.Out.Write(usage + "\n" + help);
			Environment.Exit(0);
		}
		return p;
	}

	/// Says what is wrong with the command line, and how it goes.
	public void Exit(string why)
	{
		Console.Error.Write($"{name}: {why}\n{usage}\n");
		Environment.Exit(1);
	}
}
