namespace Pager.Tests;

/// A test class with a pagerd of its own and a scratch directory, both
/// gone when the test is.
public abstract class PagerdTest : IDisposable
{
	protected readonly Pagerd d = new();
	protected readonly string tmp = Directory.CreateTempSubdirectory("pager-test").FullName;

	/// A file of size random bytes (the same bytes for the same seed).
	protected string RandomFile(long size, int seed = 1)
	{
		var b = new byte[size];
		new Random(seed).NextBytes(b);
		var path = Path.Combine(tmp, $"src{seed}-{size}");
		File.WriteAllBytes(path, b);
		return path;
	}

	public void Dispose()
	{
		d.Dispose();
		Directory.Delete(tmp, true);
		GC.SuppressFinalize(this);
	}
}
