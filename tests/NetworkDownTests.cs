using System.Collections.Concurrent;
using System.Diagnostics;
using Pager.Client;
using Xunit;

namespace Pager.Tests;

/// The question the project comes from: a program writes into a page
/// mapped from a file served over 9P, and the network goes down before
/// the page is written back. The error reaches the program on its
/// control connection, the pages stay dirty, and nothing is lost.
public sealed class NetworkDownTests : PagerdTest
{
	const long Size = 8 << 20;
	readonly string export;
	readonly string file;
	readonly byte[] want;
	readonly Diod diod;
	Process? pager;

	public NetworkDownTests()
	{
		export = TempDir();
		file = RandomFile(Size, 42, Path.Combine(export, "disk.img"));
		want = File.ReadAllBytes(file);
		diod = Keep(Diod.Start(export));
		d.Ctl($"new net {Size}");
		StartPager();
	}

	void StartPager()
	{
		pager = Cmd.Start("pagefill", ["-m", "net", "-A", export, diod.Source("disk.img")], d.Env);
		Track(pager);
		pager.StandardInput.Close();
		Cmd.WaitFor(() => d.Get("net", "pager") == "yes", "pagefill to attach");
	}

	void StopPager()
	{
		if (pager is null)
			return;
		Stop(pager);
		pager = null;
		Cmd.WaitFor(() => d.Get("net", "pager") == "no", "pagerd to see pagefill go");
	}

	/// Writes bytes at off through the client and into the expected image.
	void Write(Mapping m, long off, string text)
	{
		var b = System.Text.Encoding.ASCII.GetBytes(text);
		m.Write(off, b);
		b.CopyTo(want, off);
	}

	void Check(Mapping m, long off, int len)
	{
		var b = new byte[len];
		m.Read(off, b);
		Assert.True(want.AsSpan((int)off, len).SequenceEqual(b), $"bytes at {off} differ");
	}

	void CheckDisk()
	{
		Assert.Equal(want, File.ReadAllBytes(file));
		var cat = Cmd.Run(Diod.CatExe, ["-s", $"127.0.0.1:{diod.Port}", "-a", export, "disk.img"]);
		Assert.True(cat.Code == 0, cat.Err);
		Assert.Equal(want, cat.Out);
	}

	[Fact]
	public void ServerDiesBeforeSync()
	{
		using var m = d.Attach("net");
		var notes = new ConcurrentQueue<string>();
		m.Note += notes.Enqueue;
		foreach (var off in new long[] { 0, 1 << 20, 5 << 20, Size - 4096 })
			Check(m, off, 4096);
		long[] scattered = [100, 3 << 20, (6 << 20) + 17, Size - 10];
		foreach (var off in scattered)
			Write(m, off, "written");
		// The shell dirties a page too.
		var r = Cmd.Run("mapctl", ["-d", d.Root, "write", "net", $"{2 << 20}"], "from the shell"u8.ToArray());
		Assert.True(r.Code == 0, r.Err);
		"from the shell"u8.ToArray().CopyTo(want, 2 << 20);

		diod.Stop();
		var e = Assert.Throws<SyncException>(() => m.Sync());
		Assert.Equal(5, e.Failures.Count);
		Assert.All(e.Failures, f => Assert.Contains($"9p {diod.Address}: connection refused", f));
		Assert.Contains(e.Failures, f => f.StartsWith($"{3 << 20} 4096 "));
		Cmd.WaitFor(() => notes.Any(n => n.Contains("connection refused")), "the error on the control connection");
		Assert.Equal(5, d.Stat("net", "dirty"));
		r = Cmd.Run("mapctl", "-d", d.Root, "sync", "net");
		Assert.Equal(1, r.Code);
		Assert.Contains("connection refused", r.Err);
		Assert.Contains(Cmd.Run("mapctl", "-d", d.Root, "stat", "net").Text.Split('\n'), l => l == "dirty 5");
		// The client goes on: its memory is still there to read and write.
		Check(m, 3 << 20, 4096);
		Write(m, (3 << 20) + 100, "more");

		diod.Start();
		m.Sync();
		Assert.Equal(0, d.Stat("net", "dirty"));
		CheckDisk();
	}

	[Fact]
	public void ConnectionCutInTheMiddleOfALargeWriteBack()
	{
		using var m = d.Attach("net");
		for (long off = 0; off < Size; off += 4096)
			Write(m, off + 8, "page");
		Assert.Equal(Size / 4096, d.Stat("net", "dirty"));
		diod.Pause();
		Exception? failed = null;
		var sync = new Thread(() =>
		{
			try
			{
				m.Sync();
			}
			catch (SyncException e)
			{
				failed = e;
			}
		});
		sync.Start();
		Cmd.WaitFor(() => d.Stat("net", "writing") > 0, "write-back to start");
		diod.Stop(); // the connection dies with writes in flight
		Assert.True(sync.Join(Cmd.Timeout));
		Assert.IsType<SyncException>(failed);
		Assert.True(d.Stat("net", "dirty") > 0);
		diod.Start();
		m.Sync();
		Assert.Equal(0, d.Stat("net", "dirty"));
		CheckDisk();
	}

	[Fact]
	public void PagerKilledAndRestartedBetweenWriteAndSync()
	{
		using var m = d.Attach("net");
		Check(m, 1 << 20, 8192);
		Write(m, (1 << 20) + 5, "before the pager died");
		Write(m, 7 << 20, "and another");
		StopPager();
		// With no pager there is nowhere to write: the sync fails, nothing is lost.
		Assert.Throws<SyncException>(() => m.Sync());
		Assert.Equal(2, d.Stat("net", "dirty"));
		StartPager();
		m.Sync();
		CheckDisk();
	}
}

public sealed class NetworkDownScriptTests
{
	[Fact]
	public void RcNetdownRuns()
	{
		var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
		l.Start();
		int port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
		l.Stop();
		var r = Cmd.Run(Path.Combine(Cmd.Repo, "rc", "netdown"), [$"{port}"]);
		Assert.True(r.Code == 0, r.Err);
		Assert.Contains($"9p tcp!127.0.0.1!{port}: connection refused", r.Err);
		Assert.Contains("dirty 3", r.Text);
		Assert.Contains("exactly what was written, and durable", r.Text);
	}
}
