using System.Diagnostics;
using Pager.Client;

namespace Pager.Bench;

/// One run of one system on one cell. Server is the handler thread (C)
/// or pagerd; Pager is the pager processes of the pipeline and awk paths.
/// Requests is what the map asked of its pager or source (the C handler:
/// one fill a fault). For the file view's paths Faults is the FUSE read
/// requests the kernel sent pagerd, and Requests what the map asked of its
/// source meanwhile.
public sealed record Sample(Sys Sys, Cell Cell, int Run, long Ns, long Faults, ulong Sum, Cost Server, Dictionary<string, Cost> Pagers)
{
	public Cost Pager => Pagers.Values.Aggregate(default(Cost), (a, b) => a + b);

	public long Requests { get; init; }
}

/// Runs the systems: the C references as handler processes, the
/// toolkit's paths as maps of our pagerd that this process attaches and
/// touches through libtouch.
sealed unsafe class Runner(Native native, Daemon d, string bin, string? redis)
{
	readonly FileViewRunner view = new(native, d);

	/// The awk pager: every read request gets a file line naming the
	/// same bytes. -W interactive makes mawk answer each line at once, but
	/// unbuffered: print a, b writes each field, printf each character; one
	/// string with its newline and ORS empty goes out in one write.
	const string Awk = "BEGIN { ORS = \"\" } $1 == \"read\" { print \"file \" $2 \" \" $3 \" \" $4 \" \" F \" \" $3 \"\\n\" }";

	/// Called with pagerd's and the pager's processes before the workload;
	/// what it returns is disposed after (the profile's strace).
	public Func<List<int>, IDisposable>? Watch;

	public Sample Run(Sys s, Cell c, int run) => s switch
	{
		Sys.Mmap => Handler("mmap", s, c, run),
		Sys.Read => Handler("read", s, c, run),
		Sys.C => Handler("uffd", s, c, run),
		Sys.C2 => Handler("uffd2", s, c, run),
		Sys.Lib => LibClient(s, c, run),
		Sys.ViewRead or Sys.ViewMmap or Sys.WarmRead or Sys.WarmMmap => view.Run(s, c, run),
		_ => Toolkit(s, c, run),
	};

	/// Before a cell: the same page cache for every system, and pagerd on
	/// the cell's CPUs.
	public void Prepare(Cell c)
	{
		native.Run(["warm", c.File, c.Size.ToString(), c.Args[2], c.Pages.ToString(), c.Chunk.ToString()]);
		d.Pin(c.Pinned ? "0" : "0-1");
	}

	Sample Handler(string mode, Sys s, Cell c, int run)
	{
		var r = native.Run(["run", mode, .. c.Args], c.Pinned);
		return new Sample(s, c, run, long.Parse(r["ns"]), long.Parse(r["faults"]),
			Convert.ToUInt64(r["sum"], 16), new Cost(long.Parse(r["hcpu"]), 0), []) { Requests = long.Parse(r["faults"]) };
	}

	Sample Toolkit(Sys s, Cell c, int run)
	{
		var name = d.NewName();
		var src = s switch
		{
			Sys.Builtin => $" source=file:{c.File}",
			Sys.Huge => $" source=file:{c.File} hugepages=2m",
			_ => "",
		};
		d.Call($"new {name} {c.Size} readahead={c.Chunk}{src}");
		Process? pager = null;
		try
		{
			List<int> pids = [];
			if (s is not (Sys.Builtin or Sys.Huge))
			{
				pager = StartPager(s, name, c);
				d.WaitPager(name, pager);
				pids = Proc.Tree(pager.Id);
			}
			using var m = Mapping.Attach(name, new AttachOptions { Root = d.Root });
			var watch = Watch?.Invoke([d.Pid, .. pids]);
			var (srv, pg) = (Proc.Cost([d.Pid]), Proc.CostByName(pids));
			var (ns, sum) = native.Work(m.Pointer, c, c.Pinned ? 0 : -1);
			var (srv1, pg1) = (Proc.Cost([d.Pid]), Proc.CostByName(pids));
			watch?.Dispose();
			var pagers = pg1.ToDictionary(kv => kv.Key, kv => kv.Value - pg.GetValueOrDefault(kv.Key));
			return new Sample(s, c, run, ns, d.Count(name, "faults"), sum, srv1 - srv, pagers) { Requests = d.Count(name, "requests") };
		}
		finally
		{
			d.Call($"rm {name} force");
			if (pager is not null)
			{
				if (!pager.WaitForExit(10_000))
					pager.Kill(true);
				pager.Dispose();
			}
		}
	}

	/// The built-in source, touched by a C program of its own that
	/// attaches the map with libpager.
	Sample LibClient(Sys s, Cell c, int run)
	{
		var name = d.NewName();
		d.Call($"new {name} {c.Size} readahead={c.Chunk} source=file:{c.File}");
		try
		{
			var srv = Proc.Cost([d.Pid]);
			List<string> argv = [.. c.Pinned ? ["taskset", "-c", "0"] : Array.Empty<string>(), native.LibClient!, "run", "lib", name, .. c.Args[1..]];
			var r = Native.Pairs(Proc.Run(argv[0], argv.Skip(1), new Dictionary<string, string> { ["PAGERDIR"] = d.Root }));
			return new Sample(s, c, run, long.Parse(r["ns"]), d.Count(name, "faults"), Convert.ToUInt64(r["sum"], 16),
				Proc.Cost([d.Pid]) - srv, []) { Requests = d.Count(name, "requests") };
		}
		finally
		{
			d.Call($"rm {name} force");
		}
	}

	/// The map's pager, reading its fault FIFO and writing its fill FIFO.
	Process StartPager(Sys s, string map, Cell c)
	{
		var script = s == Sys.Pipeline ? $"faultcat {map} | pagefill file:{c.File} >\"$PAGERDIR/{map}/fill\""
			: s == Sys.Direct ? $"exec pagefill -m {map} file:{c.File}"
			: s == Sys.Redis ? $"faultcat {map} | pagefill '{redis}' >\"$PAGERDIR/{map}/fill\""
			: $"mawk -W interactive -v F={c.File} '{Awk}' <\"$PAGERDIR/{map}/fault\" >\"$PAGERDIR/{map}/fill\"";
		var env = new Dictionary<string, string>
		{
			["PAGERDIR"] = d.Root,
			["PATH"] = $"{bin}:{Environment.GetEnvironmentVariable("PATH")}",
		};
		return c.Pinned
			? Proc.Start("taskset", ["-c", "0", "sh", "-c", script], env)
			: Proc.Start("sh", ["-c", script], env);
	}
}
