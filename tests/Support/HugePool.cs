using Xunit;

namespace Pager.Tests;

/// The machine's pool of 2 MiB huge pages, grown by Pages for the tests
/// that use it and put back as it was after them.
public sealed class HugePool : IDisposable
{
	public const int Pages = 16;
	const string Knob = "/proc/sys/vm/nr_hugepages";
	const string Free = "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages";
	readonly long before;

	public HugePool()
	{
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

/// A test that needs the pool: skipped, with the reason, where it
/// cannot be had.
public sealed class HugePagesFactAttribute : FactAttribute
{
	public HugePagesFactAttribute()
	{
		if (HugePool.Unavailable is { } why)
			Skip = why;
	}
}
