namespace Pager.Bench;

public enum Pattern { Seq, Back, Stride8, Rand, Read }

/// The things measured: the kernel's paging of the file, read(2) of it,
/// the minimal C handler (a thread of the client, and a process of its
/// own as pagerd is), the toolkit's three ways of serving a map, and the
/// built-in source again with a C client over libpager in its own process,
/// the standard pipeline serving from a Redis store instead of the file
/// (RedisStore), and the file view: a built-in source map read as the file
/// $PAGERDIR/mnt/NAME, with pread(2) and with mmap(2), from a fresh map
/// (every page from the source) or from one that has every page already
/// (FUSE alone; FileViewRunner). Direct is pagefill -m, the standard pager
/// on the map's FIFOs without faultcat; Huge the built-in source on a map
/// of 2 MiB huge pages (hugepages=2m).
public enum Sys { Mmap, Read, C, C2, Builtin, Pipeline, Awk, Lib, Redis, ViewRead, ViewMmap, WarmRead, WarmMmap, Direct, Huge }

/// One workload: Pages pages of a map of Size bytes touched (or, for
/// Read, every byte copied out) by Threads threads, faults answered Chunk
/// bytes at a time.
public sealed record Cell(string File, long Size, Pattern Pattern, long Pages, int Threads, long Chunk, bool Pinned, Sys[] Systems)
{
	public string Name =>
		$"{Pattern.ToString().ToLowerInvariant()} {Units.Size(Chunk)} x{Threads} {Units.Size(Size)}" +
		(Pages < Size / 4096 && Pattern != Pattern.Read ? $" ({Pages} pages)" : "") + (Pinned ? " pinned" : "");

	/// Bytes the workload reads: what GB/s is of.
	public long Bytes => Pattern == Pattern.Read ? Size : Pages * 4096;

	/// Cells of one group are measured round by round together, so that
	/// their figures come from the same moments of a noisy machine.
	public string Group { get; init; } = "";

	public string[] Args => [File, Size.ToString(), Pattern.ToString().ToLowerInvariant(), Pages.ToString(), Threads.ToString(), Chunk.ToString()];
}

/// The matrix. Random faults are the per-fault figure (one 4 KiB copy
/// each, no read-ahead to hide the round trip); sequential touches and
/// full reads are the throughput figure, at each chunk size.
static class Cells
{
	public const long K = 1 << 10, M = 1 << 20, G = 1 << 30;

	static readonly Sys[] Faulting = [Sys.Mmap, Sys.C, Sys.C2, Sys.Builtin, Sys.Pipeline, Sys.Direct, Sys.Awk, Sys.Lib];
	static readonly Sys[] Reading = [Sys.Mmap, Sys.Read, Sys.C, Sys.C2, Sys.Builtin, Sys.Pipeline, Sys.Direct, Sys.Awk, Sys.Lib];
	/// Scans in each direction, and random chunks: what read-ahead asks for.
	static readonly Sys[] Scanning = [Sys.C, Sys.Builtin, Sys.Pipeline, Sys.Direct];
	/// Where the store holds the cell's bytes: the dense file, not the sparse.
	static readonly Sys[] FaultingStored = [.. Faulting, Sys.Redis], ReadingStored = [.. Reading, Sys.Redis];
	/// The file view's paths; read() is there for every workload, as the
	/// reference of the view's own read() path.
	public static readonly Sys[] View = [Sys.ViewRead, Sys.ViewMmap, Sys.WarmRead, Sys.WarmMmap];
	/// What the file view is measured against: the kernel on the page-cached
	/// file, an attached client of the same kind of map, and the C handler,
	/// which every cell's "× C time" is over.
	public static readonly Sys[] ViewRefs = [Sys.Mmap, Sys.Read, Sys.C, Sys.Builtin];
	static Sys[] Viewed(Sys[] s) => [.. s, .. s.Contains(Sys.Read) ? [] : new[] { Sys.Read }, .. View];

	/// The cells with the file view, with its paths and their references
	/// alone (--only view).
	public static List<Cell> ViewOnly(List<Cell> cells) =>
		[.. cells.Where(c => c.Systems.Any(View.Contains))
			.Select(c => c with { Systems = [.. c.Systems.Where(s => View.Contains(s) || ViewRefs.Contains(s))] })];

	public static List<Cell> Full(string dense, string sparse)
	{
		const long n = 8192; // random faults a run
		return
		[
			new(dense, 64 * M, Pattern.Rand, n, 1, 4 * K, false, Viewed(FaultingStored)) { Group = "size" },
			new(dense, 64 * M, Pattern.Rand, n, 1, 4 * K, true, Faulting),
			new(dense, 64 * M, Pattern.Rand, n, 2, 4 * K, false, Faulting),
			new(dense, 64 * M, Pattern.Rand, n, 8, 4 * K, false, Faulting),
			new(dense, G, Pattern.Rand, n, 1, 4 * K, false, Faulting) { Group = "size" },
			new(sparse, 16 * G, Pattern.Rand, n, 1, 4 * K, false, Faulting) { Group = "size" },
			new(dense, 64 * M, Pattern.Seq, 64 * M / 4096, 1, 4 * K, false, Faulting),
			new(dense, 64 * M, Pattern.Seq, 64 * M / 4096, 1, 64 * K, false, Viewed(Faulting)) { Group = "scan" },
			new(dense, 64 * M, Pattern.Back, 64 * M / 4096, 1, 64 * K, false, Scanning) { Group = "scan" },
			new(dense, 64 * M, Pattern.Stride8, 64 * M / 4096, 1, 64 * K, false, Scanning) { Group = "scan" },
			new(dense, 64 * M, Pattern.Rand, 64 * M / 4096, 1, 64 * K, false, Scanning),
			new(dense, G, Pattern.Seq, G / 4096, 1, 2 * M, false, [.. FaultingStored, Sys.Huge]),
			new(dense, 64 * M, Pattern.Read, 64 * M / 4096, 1, 4 * K, false, Reading),
			new(dense, G, Pattern.Read, G / 4096, 1, 64 * K, false, Reading),
			new(dense, G, Pattern.Read, G / 4096, 1, 2 * M, false, [.. Viewed(ReadingStored), Sys.Huge]),
			new(dense, G, Pattern.Read, G / 4096, 8, 2 * M, false, Reading),
		];
	}

	/// A few seconds' worth, for trying the benchmark out.
	public static List<Cell> Quick(string dense, string sparse)
	{
		const long n = 1024;
		return
		[
			new(dense, 16 * M, Pattern.Rand, n, 1, 4 * K, false, Viewed(FaultingStored)) { Group = "size" },
			new(sparse, 16 * G, Pattern.Rand, n, 1, 4 * K, false, Faulting) { Group = "size" },
			new(dense, 16 * M, Pattern.Rand, n, 1, 4 * K, true, Faulting),
			new(dense, 16 * M, Pattern.Rand, n, 8, 4 * K, false, Faulting),
			new(dense, 16 * M, Pattern.Seq, 16 * M / 4096, 1, 64 * K, false, Viewed(Faulting)) { Group = "scan" },
			new(dense, 16 * M, Pattern.Back, 16 * M / 4096, 1, 64 * K, false, Scanning) { Group = "scan" },
			new(dense, 16 * M, Pattern.Stride8, 16 * M / 4096, 1, 64 * K, false, Scanning) { Group = "scan" },
			new(dense, 16 * M, Pattern.Rand, 16 * M / 4096, 1, 64 * K, false, Scanning),
			new(dense, 64 * M, Pattern.Seq, 64 * M / 4096, 1, 2 * M, false, [Sys.C, Sys.Builtin, Sys.Huge]),
			new(dense, 64 * M, Pattern.Read, 64 * M / 4096, 1, 2 * M, false, [.. Viewed(ReadingStored), Sys.Huge]),
		];
	}
}

static class Units
{
	public static string Size(long b) =>
		b >= Cells.G && b % Cells.G == 0 ? $"{b / Cells.G}G" :
		b >= Cells.M && b % Cells.M == 0 ? $"{b / Cells.M}M" :
		b >= Cells.K && b % Cells.K == 0 ? $"{b / Cells.K}K" : b.ToString();
}
