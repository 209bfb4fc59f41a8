using System.Diagnostics;

namespace Pager.Bench;

/// Processes: running them to completion, finding a pipeline's members,
/// and reading what the scheduler says each one cost.
static class Proc
{
	/// Runs a program to its end; its standard output, or an exception
	/// with its standard error when it fails.
	public static string Run(string prog, IEnumerable<string> args, IDictionary<string, string>? env = null, TimeSpan? timeout = null)
	{
		using var p = Start(prog, args, env, redirect: true);
		var err = p.StandardError.ReadToEndAsync();
		var output = p.StandardOutput.ReadToEnd();
		if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(10)))
		{
			p.Kill(true);
			throw new BenchException($"{prog}: still running after {timeout}");
		}
		if (p.ExitCode != 0)
			throw new BenchException($"{prog} {string.Join(' ', args)}: exit {p.ExitCode}: {err.Result.Trim()}");
		return output;
	}

	public static Process Start(string prog, IEnumerable<string> args, IDictionary<string, string>? env = null, bool redirect = false, bool stdin = false)
	{
		var psi = new ProcessStartInfo(prog)
		{
			UseShellExecute = false,
			RedirectStandardOutput = redirect,
			RedirectStandardError = redirect,
			RedirectStandardInput = stdin,
		};
		foreach (var a in args)
			psi.ArgumentList.Add(a);
		if (env is not null)
			foreach (var kv in env)
				psi.Environment[kv.Key] = kv.Value;
		return Process.Start(psi) ?? throw new BenchException("cannot start " + prog);
	}

	/// The process and every live descendant of it.
	public static List<int> Tree(int pid)
	{
		var parent = new Dictionary<int, int>();
		foreach (var d in Directory.EnumerateDirectories("/proc"))
			if (int.TryParse(Path.GetFileName(d), out int p) && Ppid(p) is int pp)
				parent[p] = pp;
		var tree = new List<int> { pid };
		for (int i = 0; i < tree.Count; i++)
			tree.AddRange(parent.Where(kv => kv.Value == tree[i]).Select(kv => kv.Key));
		return tree;
	}

	static int? Ppid(int pid)
	{
		try
		{
			var s = File.ReadAllText($"/proc/{pid}/stat");
			var f = s[(s.LastIndexOf(')') + 2)..].Split(' ');
			return int.Parse(f[1]);
		}
		catch (IOException)
		{
			return null;
		}
	}

	public static string Comm(int pid)
	{
		try
		{
			return File.ReadAllText($"/proc/{pid}/comm").Trim();
		}
		catch (IOException)
		{
			return "?";
		}
	}

	/// CPU time (ns) and context switches of every thread of the processes.
	public static Cost Cost(IEnumerable<int> pids)
	{
		long cpu = 0, sw = 0;
		foreach (var pid in pids)
		{
			IEnumerable<string> tasks;
			try
			{
				tasks = Directory.EnumerateDirectories($"/proc/{pid}/task").ToList();
			}
			catch (IOException)
			{
				continue;
			}
			foreach (var t in tasks)
				try
				{
					cpu += long.Parse(File.ReadAllText(t + "/schedstat").Split(' ')[0]);
					foreach (var l in File.ReadLines(t + "/status"))
						if (l.StartsWith("voluntary_ctxt_switches:") || l.StartsWith("nonvoluntary_ctxt_switches:"))
							sw += long.Parse(l[(l.IndexOf(':') + 1)..].Trim());
				}
				catch (IOException)
				{
				}
		}
		return new Cost(cpu, sw);
	}

	/// The cost of each process, by command name (sh, which only waits, left out).
	public static Dictionary<string, Cost> CostByName(IEnumerable<int> pids) =>
		pids.Select(p => (Name: Comm(p), Pid: p)).Where(x => x.Name != "sh")
			.GroupBy(x => x.Name).ToDictionary(g => g.Key, g => Cost(g.Select(x => x.Pid)));

	/// Fields of /proc/PID/status in kB, by name.
	public static Dictionary<string, long> Status(int pid, string file = "status")
	{
		var d = new Dictionary<string, long>();
		foreach (var l in File.ReadLines($"/proc/{pid}/{file}"))
		{
			int c = l.IndexOf(':');
			var v = l[(c + 1)..].Trim();
			if (c > 0 && v.EndsWith(" kB") && long.TryParse(v[..^3].Trim(), out long kb))
				d[l[..c]] = kb;
		}
		return d;
	}
}

public readonly record struct Cost(long CpuNs, long Switches)
{
	public static Cost operator -(Cost a, Cost b) => new(a.CpuNs - b.CpuNs, a.Switches - b.Switches);
	public static Cost operator +(Cost a, Cost b) => new(a.CpuNs + b.CpuNs, a.Switches + b.Switches);
}

public sealed class BenchException(string message) : Exception(message);
