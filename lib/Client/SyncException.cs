using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Client;

/// A sync that did not make everything durable: Failures holds one line
/// a failed range, "OFFSET LENGTH MESSAGE".
public sealed class SyncException(string map, List<string> failures)
	: PagerException($"sync {map}: {failures.Count} ranges not written back: {string.Join("; ", failures)}")
{
	public IReadOnlyList<string> Failures => failures;
}
