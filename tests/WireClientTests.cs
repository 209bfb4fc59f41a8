using Xunit;

namespace Pager.Tests;

/// pagerwire(7) is enough to write a client: tests/py/wireclient.py, in
/// Python with socket.send_fds and recv_fds and ctypes for userfaultfd,
/// mmap and ioctl, and none of the toolkit's code, uses maps served by the
/// standard pipeline.
public sealed class WireClientTests : PagerdTest
{
	static readonly string Client = Path.Combine(Cmd.Repo, "tests", "py", "wireclient.py");

	Cmd.Result Wire(params string[] args) => Cmd.Run("python3", [Client, .. args], null, Env);

	/// Read-only: its uffd line says no mode, and pagerd takes the
	/// attach's; every byte is the file's.
	[Fact]
	public void ReadsByteExact()
	{
		var f = PipelineMap("img", 700_001);
		var r = Wire("img", "ro", "cat", "0", "700001", "detach");
		Assert.True(r.Code == 0, r.Err);
		Assert.True(File.ReadAllBytes(f).AsSpan().SequenceEqual(r.Out), "the client read other bytes than the file's");
		Assert.Equal("0", d.Get("img", "errors"));
		Assert.Equal(0, d.Stat("img", "clients"));
	}

	/// Writes, then a sync: the bytes are in the file, no page is dirty.
	[Fact]
	public void WriteReachesTheFileAfterSync()
	{
		var f = PipelineMap("img", 300_007);
		var want = File.ReadAllBytes(f);
		var r = Wire("img", "rw", "cat", "0", "300007", "write", "4000", "from the wire", "write", "300000", "the end", "sync", "detach");
		Assert.True(r.Code == 0, r.Err);
		Assert.True(want.AsSpan().SequenceEqual(r.Out), "the client read other bytes than the file's");
		Assert.Contains("sync ok", r.Err);
		"from the wire"u8.CopyTo(want.AsSpan(4000));
		"the end"u8.CopyTo(want.AsSpan(300000));
		Assert.True(want.AsSpan().SequenceEqual(File.ReadAllBytes(f)), "the file does not hold what was written");
		Assert.Equal(0, d.Stat("img", "dirty"));
	}

	/// A pager's error comes to the client as a note on its connection;
	/// with policy=zero the page reads as zeros.
	[Fact]
	public void ErrorComesAsANote()
	{
		New("bad", 65536, "policy=zero");
		using var pager = new FifoPager(d, "bad", m => [FifoPager.Line($"error bad {m.Off} {m.Len} no such block")]);
		var r = Wire("bad", "ro", "cat", "4096", "4096", "note");
		Assert.True(r.Code == 0, r.Err);
		Assert.Equal(new byte[4096], r.Out);
		Assert.Contains("note error bad 4096 4096 pager: no such block", r.Err);
	}

	/// The page's example lists the maps over the socket.
	[Fact]
	public void ManualExampleRuns()
	{
		New("words", 20000);
		var ex = Streams.Examples("pagerwire.7").Single(e => e.StartsWith("python3"));
		var r = Cmd.Sh(ex, Env);
		Assert.True(r.Code == 0, r.Err);
		Assert.Equal("ok 1\nwords 20000 0 0 no 0 0\n", r.Text);
	}
}
