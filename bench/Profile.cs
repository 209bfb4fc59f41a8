using System.Diagnostics;

namespace Pager.Bench;

/// System calls per fault of each process on each path, counted by
/// strace -c on a short run of 4 KiB random faults (strace slows the run;
/// the counts are what matter); and where the CPU time goes, sampled by
/// perf on another such run.
public sealed record ProfRow(Sys Sys, string Proc, string Call, double PerFault, double ErrPerFault);

public sealed record Prof(List<ProfRow> Calls, List<(Sys Sys, long Faults, string Report)> Perf);

static class Profile
{
	/// perf's sampling rate: each sample stands for 100 µs of CPU time.
	const string Hz = "10000";

	public static Prof Measure(Native native, Commands cmds, string tmp, string dense, long pages)
	{
		var perf = new List<(Sys, long, string)>();
		var rows = new List<ProfRow>();
		var c = new Cell(dense, 64 * Cells.M, Pattern.Rand, pages, 1, 4096, false, []);
		var dir = Path.Combine(tmp, "strace");
		Directory.CreateDirectory(dir);

		var outC = Path.Combine(dir, "c");
		var r = native.Run(["run", "uffd", .. c.Args], prefix: ["strace", "-f", "-c", "-o", outC]);
		rows.AddRange(Parse(Sys.C, "handler", outC, long.Parse(r["faults"])));
		var dataC = Path.Combine(dir, "perf.c");
		r = native.Run(["run", "uffd", .. c.Args], prefix: ["perf", "record", "-q", "-e", "cpu-clock", "-F", Hz, "-o", dataC, "--"]);
		perf.Add((Sys.C, long.Parse(r["faults"]), Perf.Report(dataC)));

		using var d = new Daemon(cmds["pagerd"], Path.Combine(tmp, "prof"));
		var run = new Runner(native, d, cmds.Bin, null);
		run.Prepare(c);
		foreach (var s in new[] { Sys.Builtin, Sys.Pipeline, Sys.Direct, Sys.Awk })
		{
			Strace? st = null;
			run.Watch = pids => st = new Strace(pids, dir);
			var x = run.Run(s, c, 0);
			foreach (var (pid, file) in st!.Files)
				rows.AddRange(Parse(s, st.Names[pid], file, x.Faults));
			var data = Path.Combine(dir, $"perf.{s}");
			run.Watch = pids => new Perf(pids, data);
			x = run.Run(s, c, 0);
			perf.Add((s, x.Faults, Perf.Report(data)));
		}
		return new Prof(rows, perf);
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

	/// perf record of the processes (every thread), until disposed.
	sealed class Perf : IDisposable
	{
		readonly Process p;

		public Perf(List<int> pids, string data)
		{
			p = Bench.Proc.Start("perf", ["record", "-q", "-e", "cpu-clock", "-F", Hz, "-o", data,
				"-p", string.Join(',', pids.Where(x => Bench.Proc.Comm(x) != "sh"))], redirect: true);
			Thread.Sleep(500);
		}

		public void Dispose()
		{
			Pager.Kernel.Posix.Kill(p.Id, Pager.Kernel.Posix.SIGINT);
			p.WaitForExit(30_000);
			p.Dispose();
		}

		/// Samples by process and object, then the hottest symbols down to
		/// 1.5% of the samples.
		public static string Report(string data) =>
			Lines(data, "comm,dso", "0") + "\n\n" + Lines(data, "comm,dso,sym", "1.5");

		static string Lines(string data, string sort, string limit)
		{
			try
			{
				var all = Bench.Proc.Run("perf", ["report", "-i", data, "--stdio", "--no-children", "--sort", sort,
					"-F", "overhead,sample," + sort, "--percent-limit", limit]);
				return string.Join('\n', all.Split('\n').Where(l => l.Trim() != "" && !l.StartsWith('#'))).TrimEnd();
			}
			catch (BenchException e)
			{
				return "perf report failed: " + e.Message;
			}
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
				Pager.Kernel.Posix.Kill(p.Id, Pager.Kernel.Posix.SIGINT);
			foreach (var p in ps)
			{
				p.WaitForExit(10_000);
				p.Dispose();
			}
		}
	}
}
