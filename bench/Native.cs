using System.Runtime.InteropServices;

namespace Pager.Bench;

/// handler.c, built at run time: the handler program (the kernel and C
/// references), libtouch.so (the same workload, for the toolkit's
/// clients, called in this process), and, when libpager is built
/// (out/lib), the same workload as a C client of pagerd over libpager.
sealed unsafe class Native
{
	public readonly string Handler;
	public readonly string? LibClient;
	readonly delegate* unmanaged<byte*, int, long, int, long, int, int, ulong*, long> work;

	public Native(string srcDir, string outDir)
	{
		var src = Path.Combine(srcDir, "handler.c");
		Handler = Path.Combine(outDir, "handler");
		var lib = Path.Combine(outDir, "libtouch.so");
		Proc.Run("gcc", ["-O2", "-Wall", "-pthread", "-o", Handler, src]);
		Proc.Run("gcc", ["-O2", "-Wall", "-pthread", "-shared", "-fPIC", "-DLIB", "-o", lib, src]);
		var libpager = Path.Combine(srcDir, "..", "out", "lib");
		if (File.Exists(Path.Combine(libpager, "libpager.so")))
		{
			LibClient = Path.Combine(outDir, "libclient");
			Proc.Run("gcc", ["-O2", "-Wall", "-pthread", "-DLIBPAGER", $"-I{Path.Combine(srcDir, "..", "out", "include")}", "-o", LibClient, src,
				$"-L{libpager}", "-lpager", $"-Wl,-rpath,{Path.GetFullPath(libpager)}"]);
		}
		work = (delegate* unmanaged<byte*, int, long, int, long, int, int, ulong*, long>)
			NativeLibrary.GetExport(NativeLibrary.Load(lib), "bench_work");
	}

	/// Runs the workload on memory of this process, from native threads:
	/// a fault there blocks only that thread, not the garbage collector.
	/// cpu >= 0 pins the threads to that CPU.
	public (long Ns, ulong Sum) Work(byte* p, Cell c, int cpu)
	{
		ulong sum;
		long ns = work(p, -1, c.Size, (int)c.Pattern, c.Pages, c.Threads, cpu, &sum);
		return (ns, sum);
	}

	/// One run of handler: key=value pairs of its one line.
	/// With pinned it runs under taskset -c 0; a prefix (strace) goes first.
	public Dictionary<string, string> Run(IEnumerable<string> args, bool pinned = false, string[]? prefix = null)
	{
		List<string> argv = [.. prefix ?? [], .. pinned ? ["taskset", "-c", "0"] : Array.Empty<string>(), Handler, .. args];
		return Pairs(Proc.Run(argv[0], argv.Skip(1)));
	}

	public static Dictionary<string, string> Pairs(string line) =>
		line.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries)
			.Select(w => w.Split('=', 2)).Where(kv => kv.Length == 2)
			.ToDictionary(kv => kv[0], kv => kv[1]);
}
