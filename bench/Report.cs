using System.Globalization;
using System.Text;

namespace Pager.Bench;

/// The tables, as markdown: on standard output as each part ends, and
/// together with the machine's description in results.md.
static class Report
{
	static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

	public static string CellTable(CellResult r)
	{
		var b = new StringBuilder();
		b.Append($"\n### {r.Cell.Name}\n\n");
		b.Append("| path | ms | faults | requests | µs/fault | faults/s | GB/s | × C time | server CPU µs/fault | pager CPU µs/fault | switches/fault | bytes |\n");
		b.Append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
		foreach (var s in r.Cell.Systems)
		{
			if (!r.Has(s))
				continue;
			bool uffd = s is not (Sys.Mmap or Sys.Read);
			b.Append($"| {Targets.Name(s)} | {F(r.Ms(s), 1)} | {F(r.Faults(s), 0)} | {(uffd ? F(r.Requests(s), 0) : "")} | {F(r.UsPerFault(s), 2)} | {F(r.FaultsPerSec(s), 0)} | " +
				$"{F(r.GBps(s), 2)} | {F(r.VsC(s), 2)} | {(uffd ? F(r.ServerUs(s), 2) : "")} | " +
				$"{(s is Sys.Pipeline or Sys.Direct or Sys.Awk or Sys.Redis ? Pagers(r, s) : "")} | {(s >= Sys.Builtin ? F(r.Switches(s), 2) : "")} | " +
				$"{(r.SumOk(s) ? "same" : "DIFFERENT")} |\n");
		}
		return b.ToString();
	}

	/// The file view beside its references, cell by cell: each path's time
	/// over the kernel's mmap and read() of the page-cached file and over an
	/// attached client of the same kind of map, run by run; and per FUSE
	/// read request, its time, what it took more than the kernel's read()
	/// (mmap for the mmap paths) and pagerd's CPU.
	public static string ViewTable(List<CellResult> cells)
	{
		var b = new StringBuilder("\n### The file view\n\n");
		b.Append("| workload | path | ms | GB/s | × kernel mmap | × read() | × built-in source | FUSE reads | µs/FUSE read | " +
			"µs/FUSE read over the kernel | pagerd CPU µs/FUSE read | source requests | bytes |\n");
		b.Append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
		foreach (var r in cells.Where(r => Cells.View.Any(r.Has)))
			foreach (var s in r.Cell.Systems.Where(s => r.Has(s) && (Cells.View.Contains(s) || s is Sys.Mmap or Sys.Read or Sys.Builtin)))
			{
				bool view = Cells.View.Contains(s);
				var kernel = s is Sys.ViewMmap or Sys.WarmMmap ? Sys.Mmap : Sys.Read;
				b.Append($"| {r.Cell.Name} | {Targets.Name(s)} | {F(r.Ms(s), 1)} | {F(r.GBps(s), 2)} | {F(r.Vs(s, Sys.Mmap), 2)} | " +
					$"{F(r.Vs(s, Sys.Read), 2)} | {F(r.Vs(s, Sys.Builtin), 2)} | " +
					(view ? $"{F(r.Faults(s), 0)} | {F(r.UsPerFault(s), 2)} | {F(r.UsOver(s, kernel), 2)} | {F(r.ServerUs(s), 2)} | {F(r.Requests(s), 0)} | "
						: "| | | | | ") +
					$"{(r.SumOk(s) ? "same" : "DIFFERENT")} |\n");
			}
		return b.ToString();
	}

	/// The pagers' CPU time per fault, in all and by process.
	static string Pagers(CellResult r, Sys s) =>
		F(r.PagerUs(s), 2) + " (" + string.Join(", ", r.PagerNames(s).Select(n => $"{n} {F(r.PagerUs(s, n), 1)}")) + ")";

	public static string MemoryTable(List<MemRow> rows)
	{
		var b = new StringBuilder("\n### pagerd's memory\n\n");
		b.Append("| map | pages touched | map pages resident | VmRSS MiB | RssShmem MiB | own (RSS - RssShmem) MiB | RssAnon MiB | Pss MiB |\n");
		b.Append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
		foreach (var m in rows)
			b.Append($"| {(m.Size == 0 ? "none" : Units.Size(m.Size))} | {m.Touched} | {m.Resident} | {Mb(m.RssKb)} | {Mb(m.ShmemKb)} | " +
				$"{Mb(m.OwnKb)} | {Mb(m.AnonKb)} | {Mb(m.PssKb)} |\n");
		return b.ToString();
	}

	public static string BoundTable(List<BoundRow> rows)
	{
		var b = new StringBuilder("\n### A map larger than its memory: every byte read, twice, through maxresident\n\n");
		b.Append("| pass | file | GB/s | most resident MiB | bound MiB | under the bound | pages evicted so far | bytes as the first pass |\n");
		b.Append("| ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |\n");
		foreach (var r in rows)
			b.Append($"| {r.Pass} | {Units.Size(r.Bytes)} | {F(r.GBs, 2)} | {F(r.MaxResident / (double)Cells.M, 1)} | {F(r.Bound / (double)Cells.M, 0)} | " +
				$"{(r.MaxResident <= r.Bound ? "yes" : "**no**")} | {r.Evicted} | {(r.Sum == rows[0].Sum ? "same" : "**differ**")} |\n");
		return b.ToString();
	}

	public static string StartupTable(List<StartRow> rows)
	{
		var b = new StringBuilder("\n### Start-up: `CMD -h`, start to exit\n\n| command | binary | median ms | min ms | exit |\n| --- | --- | ---: | ---: | ---: |\n");
		foreach (var s in rows)
			b.Append($"| {s.Cmd} | {s.Kind} | {F(s.Ms, 2)} | {F(s.MinMs, 2)} | {s.Status} |\n");
		return b.ToString();
	}

	public static string ProfileTable(Prof prof)
	{
		var rows = prof.Calls;
		var b = new StringBuilder("\n### System calls per fault (strace -c, random 4 KiB faults, one thread, 64 MiB map)\n\n");
		b.Append("| path | process | system call | calls/fault | errors/fault |\n| --- | --- | --- | ---: | ---: |\n");
		foreach (var p in rows.Where(p => p.PerFault >= 0.05).OrderBy(p => p.Sys).ThenBy(p => p.Proc).ThenByDescending(p => p.PerFault))
			b.Append($"| {Targets.Name(p.Sys)} | {p.Proc} | {p.Call} | {F(p.PerFault, 2)} | {(p.ErrPerFault > 0 ? F(p.ErrPerFault, 2) : "")} |\n");
		foreach (var g in rows.GroupBy(p => p.Sys))
			b.Append($"| {Targets.Name(g.Key)} | all | **total** | {F(g.Sum(p => p.PerFault), 2)} | |\n");
		b.Append("\n### Where the CPU time goes\n\nperf record -e cpu-clock -F 10000 (a sample is 100 µs of CPU) of every process of the path, on the same workload; " +
			"samples × 100 / faults is µs of CPU per fault. finish_task_switch is where a thread resumes after sleeping: in this VM it absorbs the cost of the wake-up.\n");
		foreach (var (s, faults, text) in prof.Perf)
			b.Append($"\n{Targets.Name(s)} ({faults} faults):\n\n```\n{text}\n```\n");
		return b.ToString();
	}

	public static string TargetTable(List<Target> ts)
	{
		var b = new StringBuilder("\n### Targets\n\n| target | goal | measured | met | margin |\n| --- | --- | ---: | --- | --- |\n");
		foreach (var t in ts)
			b.Append($"| {t.What} | {t.Goal} | {t.Measured} | {(t.Met is null ? "?" : t.Met.Value ? "met" : "**missed**")} | {t.Margin} |\n");
		return b.ToString();
	}

	/// The key comparison: each path's time per fault over the C handler's.
	public static string Summary(List<CellResult> cells)
	{
		var b = new StringBuilder("| workload | kernel mmap | read() | C handler, own process | built-in source | built-in source, huge pages | standard pipeline | pagefill -m | awk pager |\n" +
			"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
		foreach (var r in cells)
			b.Append($"| {r.Cell.Name} | {V(r, Sys.Mmap)} | {V(r, Sys.Read)} | {V(r, Sys.C2)} | {V(r, Sys.Builtin)} | {V(r, Sys.Huge)} | {V(r, Sys.Pipeline)} | " +
				$"{V(r, Sys.Direct)} | {V(r, Sys.Awk)} |\n");
		return b.ToString();
	}

	static string V(CellResult r, Sys s) => r.Has(s) ? F(r.VsC(s), 2) + "×" : "";

	public static string Markdown(Opts o, Commands cmds, string load, List<CellResult> cells, List<MemRow> mem, List<BoundRow> bound, List<StartRow> start,
		Prof prof, List<Target> targets, string why)
	{
		var b = new StringBuilder("# Benchmark results\n\n");
		b.Append($"Written by `dotnet run -c Release --project bench{(o.Quick ? " -- --quick" : "")}`; see README.md for what each figure means.\n\n");
		b.Append("## Machine\n\n").Append(Machine());
		b.Append($"- load average at the start: {load}; at the end: {File.ReadAllText("/proc/loadavg").Trim()} (the machine is shared)\n");
		b.Append($"- runs per system and workload: {o.Runs} after one warm-up round, alternating; figures are medians\n");
		b.Append($"- toolkit commands: {(cmds.Aot ? "NativeAOT (dotnet publish -r linux-x64)" : "Release apphosts (JIT)")}\n\n");
		b.Append("## Time per fault relative to the C handler\n\n");
		b.Append("Time for the same touches over the C handler's, run by run (median); below 1 is faster. Chart: results.svg.\n\n");
		b.Append(Summary(cells));
		b.Append("\n## Targets\n").Append(TargetTable(targets)[("\n### Targets\n".Length)..]);
		if (why != "")
			b.Append('\n').Append(why.TrimEnd()).Append('\n');
		if (cells.Any(r => Cells.View.Any(r.Has)))
			b.Append("\n## The file view\n").Append(ViewTable(cells)["\n### The file view\n".Length..]);
		b.Append("\n## Workloads\n");
		foreach (var r in cells)
			b.Append(CellTable(r));
		b.Append("\n## Memory, start-up and system calls\n").Append(MemoryTable(mem)).Append(BoundTable(bound)).Append(StartupTable(start)).Append(ProfileTable(prof));
		return b.ToString();
	}

	static string Machine()
	{
		string Sh(string cmd)
		{
			try
			{
				return Proc.Run("sh", ["-c", cmd]).Trim();
			}
			catch (BenchException)
			{
				return "?";
			}
		}
		return $"- kernel: {Sh("uname -sr")}\n" +
			$"- CPU: {Sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2")}, {Environment.ProcessorCount} cores\n" +
			$"- memory: {Sh("awk '/MemTotal/ { printf \"%.1f GiB\", $2 / 1048576 }' /proc/meminfo")}\n" +
			$"- date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC\n" +
			$"- .NET SDK {Sh("dotnet --version")}; {Sh("gcc --version | head -1")}; {Sh("mawk -W version 2>&1 | head -1")}\n";
	}

	static string F(double v, int digits) => double.IsNaN(v) ? "" : v.ToString("N" + digits, Inv);
	static string Mb(long kb) => (kb / 1024.0).ToString("0.0", Inv);
}
