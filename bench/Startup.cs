namespace Pager.Bench;

/// How long each command takes to start and exit on -h: the median of
/// n runs, spawned and waited for by handler (no .NET in the timing).
public sealed record StartRow(string Cmd, string Kind, double Ms, double MinMs, int Status);

static class Startup
{
	public static List<StartRow> Measure(Native native, string repo, Commands cmds, int n)
	{
		var rows = new List<StartRow>();
		foreach (var c in Commands.Names)
		{
			rows.Add(Time(native, c, cmds.Aot ? "NativeAOT" : "apphost", cmds[c], n));
			var host = Commands.Apphost(repo, c);
			if (cmds.Aot && File.Exists(host))
				rows.Add(Time(native, c, "apphost", host, n));
		}
		return rows;
	}

	static StartRow Time(Native native, string cmd, string kind, string bin, int n)
	{
		var r = native.Run(["start", n.ToString(), bin, "-h"]);
		return new StartRow(cmd, kind, long.Parse(r["ns"]) / 1e6, long.Parse(r["min"]) / 1e6, int.Parse(r["status"]));
	}
}
