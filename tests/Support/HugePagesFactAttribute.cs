using Xunit;

namespace Pager.Tests;

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
