using System.CommandLine;

namespace Pager.Faultcat;

/// faultcat's command line; the usage text is the manual's SYNOPSIS.
sealed class Args
{
	public const string Usage = "usage: faultcat [ -sx ] [ -o range ] [ -r trace ] [ -t verbs ] [ -w trace ] [ map | - ]";
	const string Help =
		"\t-o range\tonly messages overlapping range: lo-hi, lo-, -hi, or one offset\n" +
		"\t-r trace\tread a recorded trace instead of map or standard input\n" +
		"\t-s\tprint a summary on standard error at the end\n" +
		"\t-t verbs\tonly messages with these verbs, separated by commas\n" +
		"\t-w trace\tcopy the input, exactly as read, to the file trace\n" +
		"\t-x\tprint each message in readable form\n";

	public bool Summary, Readable;
	public string? Range, Trace, Verbs, Tee, Map;

	/// Parses args, or prints usage and exits.
	public static Args Parse(string[] args)
	{
		var s = new Option<bool>("-s");
		var x = new Option<bool>("-x");
		var h = new Option<bool>("-h");
		var o = new Option<string>("-o");
		var r = new Option<string>("-r");
		var t = new Option<string>("-t");
		var w = new Option<string>("-w");
		var map = new Argument<string>("map") { Arity = ArgumentArity.ZeroOrOne };
		var root = new RootCommand("faultcat");
		root.Options.Clear(); // the stock -h and --version; ours is Plan 9's
		root.Directives.Clear();
		foreach (var opt in new Option[] { s, x, h, o, r, t, w })
			root.Options.Add(opt);
		root.Arguments.Add(map);

		var p = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
		// The parser takes an unknown option for the map.
		var first = p.GetResult(map)?.Tokens.FirstOrDefault()?.Value;
		if (first is not null && first.StartsWith('-') && first != "-" && !args.Contains("--"))
			Exit($"unknown option '{first}'");
		if (p.Errors.Count > 0)
			Exit(p.Errors[0].Message.TrimEnd('.'));
		if (p.GetValue(h))
		{
			Console.Out.Write(Usage + "\n" + Help);
			Environment.Exit(0);
		}
		var a = new Args
		{
			Summary = p.GetValue(s),
			Readable = p.GetValue(x),
			Range = p.GetValue(o),
			Trace = p.GetValue(r),
			Verbs = p.GetValue(t),
			Tee = p.GetValue(w),
			Map = p.GetValue(map),
		};
		if (a.Map == "-")
			a.Map = null;
		if (a.Map is not null && a.Trace is not null)
			Exit("both a map and -r");
		return a;
	}

	/// Says what is wrong with the command line, and how it goes.
	public static void Exit(string why)
	{
		Console.Error.Write($"faultcat: {why}\n{Usage}\n");
		Environment.Exit(1);
	}
}
