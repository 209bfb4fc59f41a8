using System.Diagnostics;
using Pager.Protocol;
using Xunit;

namespace Pager.Tests;

/// What the test support promises: a test's pager fails the test, not
/// the test host; a test leaves no process behind.
public sealed class FixtureTests
{
	sealed class Probe : PagerdTest
	{
		public Pagerd Daemon => d;
		public Process Sleep() => Bg("sleep", "600");
		public string Scratch => tmp;
	}

	[Fact]
	public void DisposeLeavesNothingRunning()
	{
		var t = new Probe();
		var sleep = t.Sleep();
		int daemon = t.Daemon.Proc.Id, child = sleep.Id;
		var (root, scratch) = (t.Daemon.Root, t.Scratch);
		t.Dispose();
		Assert.False(Alive(daemon), "pagerd outlived its test");
		Assert.False(Alive(child), "a background process outlived its test");
		Assert.False(Directory.Exists(root));
		Assert.False(Directory.Exists(scratch));
	}

	[Fact]
	public void PagerFailureFailsTheTest()
	{
		using var t = new Probe();
		t.Daemon.Ctl("new m 64k");
		var p = new FifoPager(t.Daemon, "m", r => throw new InvalidDataException($"cannot answer {r.Verb}"));
		// The reader waits for a page no one will send; its timeout kills it.
		var reader = Task.Run(() => Cmd.Run("mapctl", ["-d", t.Daemon.Root, "cat", "m", "0", "4096"], null, null, TimeSpan.FromSeconds(2)));
		Cmd.WaitFor(() => p.Count > 0, "the pager to see a request");
		var e = Assert.Throws<InvalidOperationException>(p.Dispose);
		Assert.Contains("cannot answer Read", e.Message);
		var waited = Assert.Throws<AggregateException>(() => reader.Wait(Cmd.Timeout));
		Assert.IsType<TimeoutException>(waited.InnerException);
	}

	static bool Alive(int pid) => File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].TrimStart().StartsWith('Z');
}
