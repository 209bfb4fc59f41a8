using Pager.Cmd;
using Pager.Protocol;

namespace Pager.Pagefill;

/// pagefill's command line; the usage text is the manual's SYNOPSIS.
sealed class PagefillArgs
{
	public const string Usage = "usage: pagefill [ -eiv ] [ -A aname ] [ -a bytes ] [ -m map ] [ -n requests ] [ -o offset ] [ -r replicas ] [ -t wait ] source";
	static Flags? flags;

	const string Help =
		"\tsource is file:PATH, 9p:tcp!HOST!PORT/PATH, redis:tcp!HOST!PORT[,...]/PREFIX, zero, pattern or exec:COMMAND\n" +
		"\t-e\tredis: bytes never written are errors, not zeros\n" +
		"\t-A aname\t9p: the attach name, the export on the server (diod: its directory)\n" +
		"\t-a bytes\tread ahead: answer each request with up to bytes, within the map\n" +
		"\t-i\tfile: send the bytes inline as data instead of file replies\n" +
		"\t-m map\tserve the map's fault and fill FIFOs instead of standard input and output\n" +
		"\t-n requests\tserve up to requests at once (default 1)\n" +
		"\t-o offset\tfile: the file offset of map offset 0 (default 0)\n" +
		"\t-r replicas\tredis: a sync waits for this many replicas (default 1 if the cluster has replicas)\n" +
		"\t-t wait\tredis: how long a request waits for the cluster, and a sync for its replicas (default 10s)\n" +
		"\t-v\tlog each request and reply on standard error\n";

	public bool Inline, Verbose, Strict;
	public int? Replicas;
	public TimeSpan Wait = TimeSpan.FromSeconds(10);
	public long Ahead, FileOff;
	public int InFlight = 1;
	public string? Map;
	public string Source = "";
	public string? Aname;

	/// Parses args, or prints usage and exits.
	public static PagefillArgs Parse(string[] args)
	{
		var f = flags = new Flags("pagefill", Usage, Help);
		var e = f.Bool("-e");
		var i = f.Bool("-i");
		var v = f.Bool("-v");
		var A = f.Value("-A");
		var a = f.Value("-a");
		var m = f.Value("-m");
		var n = f.Value("-n");
		var o = f.Value("-o");
		var rr = f.Value("-r");
		var t = f.Value("-t");
		var src = f.Operand("source");
		var p = f.Parse(args);
		var r = new PagefillArgs
		{
			Inline = p.GetValue(i),
			Strict = p.GetValue(e),
			Verbose = p.GetValue(v),
			Map = p.GetValue(m),
			Aname = p.GetValue(A),
			Source = p.GetValue(src) ?? "",
		};
		if (r.Source == "")
			Exit("no source");
		if (r.Map is not null && !Names.IsMap(r.Map))
			Exit($"bad map name '{r.Map}'");
		r.Ahead = Number(p.GetValue(a), "read-ahead", 0);
		r.FileOff = Number(p.GetValue(o), "offset", 0);
		r.InFlight = (int)Math.Min(Number(p.GetValue(n), "request count", 1), 1024);
		if (r.InFlight < 1)
			Exit("bad request count: want at least 1");
		if (r.Ahead % 4096 != 0)
			Exit($"bad read-ahead '{p.GetValue(a)}': not a multiple of 4096");
		if ((r.Inline || r.FileOff != 0) && !r.Source.StartsWith("file:"))
			Exit("-i and -o are for file: sources");
		if (r.Aname is not null && !Pager.NineP.Dial.Is(r.Source))
			Exit("-A is for 9p: sources");
		bool redis = Pager.Sources.RedisSpec.Is(r.Source);
		if ((r.Strict || p.GetValue(rr) is not null || p.GetValue(t) is not null) && !redis)
			Exit("-e, -r and -t are for redis: sources");
		if (p.GetValue(rr) is string reps)
		{
			if (!int.TryParse(reps, System.Globalization.NumberStyles.None, null, out int nr))
				Exit($"bad replica count '{reps}'");
			r.Replicas = nr;
		}
		if (p.GetValue(t) is string tw)
		{
			try
			{
				r.Wait = Num.Duration(tw, "wait");
			}
			catch (ProtocolException x)
			{
				Exit(x.Message);
			}
			if (r.Wait <= TimeSpan.Zero || r.Wait > TimeSpan.FromHours(1))
				Exit($"bad wait '{tw}': want more than 0 and at most 1h");
		}
		if (r.FileOff % 4096 != 0 && !r.Inline)
			Exit($"bad offset '{p.GetValue(o)}': file replies need a multiple of 4096 (or -i)");
		return r;
	}

	static long Number(string? s, string what, long dflt)
	{
		if (s is null)
			return dflt;
		try
		{
			return Num.Size(s, what);
		}
		catch (ProtocolException e)
		{
			Exit(e.Message);
			return 0;
		}
	}

	/// Says what is wrong with the command line, and how it goes.
	public static void Exit(string why) => flags!.Exit(why);
}
