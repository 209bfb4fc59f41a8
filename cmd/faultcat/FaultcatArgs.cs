using Pager.Cmd;

namespace Pager.Faultcat;

/// faultcat's command line; the usage text is the manual's SYNOPSIS.
sealed class FaultcatArgs
{
	public const string Usage = "usage: faultcat [ -sx ] [ -o range ] [ -r trace ] [ -t verbs ] [ -w trace ] [ map | - ]";
	static Flags? flags;

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
	public static FaultcatArgs Parse(string[] args)
	{
		var f = flags = new Flags("faultcat", Usage, Help);
		var s = f.Bool("-s");
		var x = f.Bool("-x");
		var o = f.Value("-o");
		var r = f.Value("-r");
		var t = f.Value("-t");
		var w = f.Value("-w");
		var map = f.Operand("map");
		var p = f.Parse(args);
		var a = new FaultcatArgs
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
	public static void Exit(string why) => flags!.Exit(why);
}
