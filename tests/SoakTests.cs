using Xunit;

namespace Pager.Tests;

/// A short run of the soak (bench soak; bench/README.md): four maps
/// over files, each with its pipeline and two Python clients over
/// libpager, while pagers, clients, mapctl writes and pagerd itself are
/// killed at random; every byte read and written back is checked.
public sealed class SoakTests
{
	static string Bench => Path.Combine(Cmd.Repo, "bench", "bin",
		AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug", "net10.0", "bench");

	[Fact]
	public void ShortSoakLosesNothing()
	{
		var r = Cmd.Run(Bench, ["soak", "-t", "15s", "-s", "1"], null, null, TimeSpan.FromMinutes(5));
		Assert.True(r.Code == 0, $"bench soak: exit {r.Code}\n{r.Text}\n{r.Err}");
		Assert.Contains("soak: bytes lost: 0\n", r.Text);
		Assert.Contains("soak: 0 failures\n", r.Text);
		Assert.Matches(@"kills survived: [1-9]\d* pagerd", r.Text);
	}
}
