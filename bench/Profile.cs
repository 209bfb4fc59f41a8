using System.Diagnostics;

namespace Pager.Bench;

/// System calls per fault of each process on each path, counted by
/// strace -c on a short run of 4 KiB random faults. strace slows the run;
/// the counts are what matter.
public sealed record ProfRow(Sys Sys, string Proc, string Call, double PerFault, double ErrPerFault);

static class Profile
{
	public static List<ProfRow> Measure(Native native, Commands cmds, string tmp, string dense, long pages)
	{
		var rows = new List<ProfRow>();
		var c = new Cell(dense, 64 * Cells.M, Pattern.Rand, pages, 1, 4096, false, []);
		var dir = Path.Combine(tmp, "strace");
		Directory.CreateDirectory(dir);

		var outC = Path.Combine(dir, "c");
		var r = native.Run(["run", "uffd", .. c.Args], prefix: ["strace", "-f", "-c", "-o", outC]);
		rows.AddRange(Parse(Sys.C, "handler", outC, long.Parse(r["faults"])));

		using var d = new Daemon(cmds["pagerd"], Path.Combine(tmp, "prof"));
		var run = new Runner(native, d, cmds.Bin);
		run.Prepare(c);
		foreach (var s in new[] { Sys.Builtin, Sys.Pipeline, Sys.Awk })
		{
			Strace? st = null;
			run.Watch = pids => st = new Strace(pids, dir);
			var x = run.Run(s, c, 0);
			foreach (var (pid, file) in st!.Files)
				rows.AddRange(Parse(s, st.Names[pid], file, x.Faults));
		}
		return rows;
	}

	static IEnumerable<ProfRow> Parse(Sys s, string proc, string file, long faults)
	{
		foreach (var l in File.ReadLines(file))
		{
			var f = l.Split(' ', StringSplitOptions.RemoveEmptyEntries);
			if (f.Length < 5 || !double.TryParse(f[0], out _) || f[^1] == "total")
				continue;
			long calls = long.Parse(f[3]);
			long errs = f.Length == 6 ? long.Parse(f[4]) : 0;
			yield return new ProfRow(s, proc, f[^1], (double)calls / faults, (double)errs / faults);
		}
	}

	/// One strace -c per process, attached until disposed.
	sealed class Strace : IDisposable
	{
		public readonly Dictionary<int, string> Files = [], Names = [];
		readonly List<Process> ps = [];

		public Strace(List<int> pids, string dir)
		{
			foreach (var pid in pids)
			{
				var name = Bench.Proc.Comm(pid);
				if (name == "sh")
					continue; // the pipeline's shell only waits
				Names[pid] = name;
				Files[pid] = Path.Combine(dir, $"{name}.{pid}");
				ps.Add(Bench.Proc.Start("strace", ["-f", "-c", "-o", Files[pid], "-p", pid.ToString()], redirect: true));
			}
			Thread.Sleep(500); // until attached
		}

		public void Dispose()
		{
			foreach (var p in ps)
				Tmds.Linux.LibC.kill(p.Id, 2);
			foreach (var p in ps)
			{
				p.WaitForExit(10_000);
				p.Dispose();
			}
		}
	}
}
