namespace Pager.Tests;

/// The machine's pool of 2 MiB huge pages, grown by Pages for the tests
/// (or the benchmark's cells) that use it, and put back as it was after.
public sealed class HugePool : IDisposable
{
	/// What the tests take: a few maps of a few huge pages.
	public const int ForTests = 16;
	const string Knob = "/proc/sys/vm/nr_hugepages";
	const string Free = "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages";
	readonly long before;

	public int Pages { get; }

	public HugePool() : this(ForTests)
	{
	}

	/// A pool grown by pages (the tests' fixture takes ForTests).
	public static HugePool Of(int pages) => new(pages);

	HugePool(int pages)
	{
		Pages = pages;
		if (Unavailable is not null)
			return;
		before = long.Parse(File.ReadAllText(Knob));
		File.WriteAllText(Knob, $"{before + Pages}");
		long free = FreeNow();
		if (free < Pages)
		{
			Dispose();
			throw new InvalidOperationException($"{Knob}: asked for {Pages} more huge pages, and only {free} are free (memory too fragmented?)");
		}
	}

	/// Why the pool cannot be grown here, or null if it can.
	public static readonly string? Unavailable =
		!Directory.Exists(Path.GetDirectoryName(Free)) ? "the kernel has no 2 MiB huge pages (hugetlbfs)" :
		Environment.UserName != "root" ? $"growing the pool ({Knob}) needs root" : null;

	public static long FreeNow() => long.Parse(File.ReadAllText(Free));

	public void Dispose()
	{
		if (Unavailable is null)
			File.WriteAllText(Knob, $"{before}");
	}
}
