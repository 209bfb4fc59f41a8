using Pager.Protocol;
using Xunit;

namespace Pager.Tests;

/// The file view: every map is a file in $PAGERDIR/mnt, used by programs
/// that know nothing of pagers (cmp, dd, python3's mmap, sqlite3), with
/// the map's one page state and the kernel's error semantics.
public class FileViewTests : PagerdTest
{
	string FileOf(string map) => Path.Combine(Dir.Files(d.Root), map);

	/// Runs a python3 program given as text, with the toolkit's namespace.
	Cmd.Result Python(string program, params string[] args) =>
		Cmd.Run("python3", ["-c", program, .. args], null, Env);

	/// EIO, as os.strerror gives it, for the programs' own messages.
	const string Eio = "Input/output error";

	[Fact]
	public void CmpAndDdReadTheMapThroughThePipeline()
	{
		const long size = (3 << 20) + 123;
		var f = PipelineMap("disk", size, "readahead=64k");
		var r = Cmd.Run("cmp", [FileOf("disk"), f]);
		Assert.True(r.Code == 0, $"cmp: {r.Text}{r.Err}");
		r = Cmd.Run("dd", [$"if={FileOf("disk")}", "bs=4096", "skip=300", "count=7", "status=none"]);
		Assert.Equal(0, r.Code);
		Assert.Equal(File.ReadAllBytes(f).AsSpan(300 * 4096, 7 * 4096).ToArray(), r.Out);
		var ls = Cmd.Run("ls", ["-l", Dir.Files(d.Root)]).Text;
		Assert.Matches($@"-rw-r--r-- 1 \S+ \S+ {size} .* disk\n", ls);
		Assert.True(d.Stat("disk", "requests") > 0);
	}

	/// python3 maps the file shared, reads it byte-exact (and privately:
	/// what it writes there stays its own), writes into it and fsyncs:
	/// the bytes reach the source through the pager, and an
	/// attached client sees them as soon as msync has sent them.
	[Fact]
	public void PythonMmapReadsWritesAndFsyncReachesTheSource()
	{
		const int size = 1 << 20;
		var f = PipelineMap("py", size);
		var want = File.ReadAllBytes(f);
		var r = Python("""
			import mmap, os, sys
			fd = os.open(sys.argv[1], os.O_RDWR)
			m = mmap.mmap(fd, 0)
			sys.stdout.buffer.write(m[:])
			p = mmap.mmap(fd, 0, flags=mmap.MAP_PRIVATE)
			assert p[:] == m[:], "a private mapping reads other bytes"
			p[0:7] = b"private"
			p.close()
			m[5000:5010] = b"0123456789"
			m[700000:700004] = b"more"
			m.flush()
			os.pwrite(fd, b"written", 100)
			os.fsync(fd)
			""", FileOf("py"));
		Assert.True(r.Code == 0, r.Err);
		Assert.True(want.AsSpan().SequenceEqual(r.Out), "python3 read other bytes than the file's");
		"0123456789"u8.CopyTo(want.AsSpan(5000));
		"more"u8.CopyTo(want.AsSpan(700000));
		"written"u8.CopyTo(want.AsSpan(100));
		Assert.True(want.AsSpan().SequenceEqual(File.ReadAllBytes(f)), "the source does not hold what was written");
		Assert.Equal(0, d.Stat("py", "dirty"));
		using var m = d.Attach("py");
		var got = new byte[size];
		m.Read(0, got);
		Assert.True(want.AsSpan().SequenceEqual(got), "a client sees other bytes than the file's");
	}

	/// The example of pagerd(8): a database created inside a map whose
	/// pager is pagefill over a file; the file then holds the database.
	[Fact]
	public void Sqlite3RunsADatabaseOnAMap()
	{
		var store = Path.Combine(tmp, "db.img");
		File.WriteAllBytes(store, new byte[4 << 20]);
		New("db", 4 << 20);
		Bg("/bin/sh", "-c", $"faultcat db | pagefill file:{store} >$PAGERDIR/db/fill");
		WaitPager("db");
		var db = FileOf("db");
		var r = Cmd.Run("sqlite3", [db, ".dbconfig reset_database on", "pragma journal_mode=memory", "vacuum", ".dbconfig reset_database off",
			"create table t(n integer, s text)",
			"with recursive c(n) as (select 1 union all select n+1 from c where n < 2000) insert into t select n, printf('row %d', n) from c",
			"pragma integrity_check"], null, Env);
		Assert.True(r.Code == 0, r.Err);
		Assert.EndsWith("ok\n", r.Text);
		r = Cmd.Run("sqlite3", [db, "pragma journal_mode=memory", "select count(*), sum(n), max(s) from t"], null, Env);
		Assert.Equal("memory\n2000|2001000|row 999\n", r.Text);
		Assert.Equal(0, Mapctl("sync", "db").Code);
		r = Cmd.Run("sqlite3", [store, "pragma integrity_check", "select count(*), sum(n) from t"]);
		Assert.Equal("ok\n2000|2001000\n", r.Text);
	}

	/// The seed scenario for an unchanged program: python3 writes through
	/// an mmap of a map served over 9P, the server dies, msync and fsync
	/// fail with EIO and the pages stay dirty; the server comes back, the
	/// next fsync succeeds, and the server's file holds every byte.
	[Fact]
	public void FsyncFailsWithEioWhileTheServerIsDownThenSucceeds()
	{
		const int size = 1 << 20;
		var (f, diod) = NinePMap("net", size);
		var want = File.ReadAllBytes(f);
		var py = Cmd.Start("python3", ["-u", "-c", """
			import mmap, os, sys
			fd = os.open(sys.argv[1], os.O_RDWR)
			m = mmap.mmap(fd, 0)
			m[100:107] = b"written"
			m[700000:700004] = b"more"
			print("wrote")
			sys.stdin.readline()
			for what, f in (("msync", m.flush), ("fsync", lambda: os.fsync(fd))):
				try:
					f()
					print(what, "ok")
				except OSError as e:
					print(what, "failed:", e.strerror)
			sys.stdin.readline()
			os.fsync(fd)
			print("fsync ok")
			""", FileOf("net")], Env);
		Track(py);
		Assert.Equal("wrote", Streams.Line(py.StandardOutput));
		diod.Stop();
		py.StandardInput.WriteLine();
		py.StandardInput.Flush();
		Assert.Equal($"msync failed: {Eio}", Streams.Line(py.StandardOutput));
		Assert.Equal($"fsync failed: {Eio}", Streams.Line(py.StandardOutput));
		Assert.Equal(2, d.Stat("net", "dirty"));
		Assert.Contains($"0 4096 write-back: pager: 9p {diod.Address}: connection refused", string.Join('\n', d.Ctl("err net")));

		diod.Start();
		py.StandardInput.WriteLine();
		py.StandardInput.Close();
		Assert.Equal("fsync ok", Streams.Line(py.StandardOutput));
		Assert.True(Streams.Exit(py) == 0, py.StandardError.ReadToEnd());
		"written"u8.CopyTo(want.AsSpan(100));
		"more"u8.CopyTo(want.AsSpan(700000));
		Assert.True(want.AsSpan().SequenceEqual(File.ReadAllBytes(f)), "the server's file does not hold what was written");
		Assert.Equal(0, d.Stat("net", "dirty"));
	}

	/// The README's example, as written but for the server's address and
	/// export: sqlite3 on a map served over 9P by a diod of the test's own.
	[Fact]
	public void ReadmeRunsSqlite3OverNineP()
	{
		var readme = File.ReadAllText(Path.Combine(Cmd.Repo, "README.md"));
		var m = System.Text.RegularExpressions.Regex.Match(readme, @"^    mapctl new db 64m\n(    .*\n)+", System.Text.RegularExpressions.RegexOptions.Multiline);
		Assert.True(m.Success, "the README shows no sqlite3 example");
		var export = TempDir();
		using (var img = File.Create(Path.Combine(export, "db.img")))
			img.SetLength(64 << 20);
		var diod = Keep(Diod.Start(export));
		var script = string.Join("\n", m.Value.Split('\n').Select(l => l.StartsWith("    ") ? l[4..] : l))
			.Replace("/srv/pages", export).Replace("tcp!127.0.0.1!564", diod.Address)
			.Replace(" &\n", " >/dev/null 2>&1 &\npf=$!; trap 'kill $pf' EXIT\n");
		var r = Cmd.Run("/bin/sh", ["-e", "-c", script], null, Env);
		Assert.True(r.Code == 0, $"{script}\nexit {r.Code}: {r.Err}");
		Assert.EndsWith("memory\nserved over 9P\n", r.Text);
		Assert.Equal(0, Mapctl("sync", "db").Code);
		r = Cmd.Run("sqlite3", [Path.Combine(export, "db.img"), "select * from t"]);
		Assert.Equal("served over 9P\n", r.Text);
	}

	/// A read the pager answers with error fails with EIO, and the error
	/// is in the map's errors; a pager that never answers makes the read
	/// fail with EIO once the map's timeout has passed, as does one that
	/// dies while the read waits. Another map's file reads on meanwhile.
	[Fact]
	public void ReadsFailWithEioOnErrorAndOnTimeout()
	{
		New("bad", 1 << 20, "timeout=1");
		using var pager = new FifoPager(d, "bad", m => m.Off == 0 ? [FifoPager.Line($"error bad {m.Off} {m.Len} disk on fire")] : null);
		var f = PipelineMap("good", 1 << 20);
		const string read = """
			import os, sys
			fd = os.open(sys.argv[1], os.O_RDONLY)
			try:
				os.pread(fd, 4096, int(sys.argv[2]))
				print("read ok")
			except OSError as e:
				print("read failed:", e.strerror)
			""";
		Assert.Equal($"read failed: {Eio}\n", Python(read, FileOf("bad"), "0").Text);
		Assert.Contains("0 4096 pager: disk on fire", string.Join('\n', d.Ctl("err bad")));
		// Through an mmap of the file the same error is SIGBUS.
		var touch = Python("import mmap, os, sys; m = mmap.mmap(os.open(sys.argv[1], os.O_RDONLY), 0, prot=mmap.PROT_READ); print(m[0])", FileOf("bad"));
		Assert.Equal(128 + 7, touch.Code);
		var slow = Cmd.Start("python3", ["-c", read, FileOf("bad"), "65536"], Env);
		Track(slow);
		// Not for the wait alone: on a slow machine the second may be over.
		Cmd.WaitFor(() => d.Stat("bad", "filewaiting") == 1 || slow.HasExited, "the read to wait");
		Assert.Equal(0, Cmd.Run("cmp", [FileOf("good"), f]).Code);
		Assert.True(slow.WaitForExit(Cmd.Timeout));
		Assert.Equal($"read failed: {Eio}\n", slow.StandardOutput.ReadToEnd());
		Assert.Contains("file view: timeout: no pager answered in 1s", string.Join('\n', d.Ctl("err bad")));
		Assert.Equal(0, d.Stat("bad", "filewaiting"));

		// The pager dies while a read waits: no other comes in time.
		slow = Cmd.Start("python3", ["-c", read, FileOf("bad"), "131072"], Env);
		Track(slow);
		Cmd.WaitFor(() => d.Stat("bad", "filewaiting") == 1 || slow.HasExited, "the read to wait");
		pager.Dispose();
		Assert.True(slow.WaitForExit(Cmd.Timeout));
		Assert.Equal($"read failed: {Eio}\n", slow.StandardOutput.ReadToEnd());
	}

	/// A client's fault and a read through the file on the same page are
	/// one request; its answer serves both.
	[Fact]
	public void AClientsFaultAndAFileReadShareOneRequest()
	{
		var bytes = File.ReadAllBytes(RandomFile(64 << 10));
		using var gate = new ManualResetEventSlim();
		New("s", 64 << 10);
		using var pager = new FifoPager(d, "s", r =>
		{
			gate.Wait(Cmd.Timeout);
			return [FifoPager.Line($"data s {r.Off} {r.Len}"), bytes.AsSpan((int)r.Off, (int)r.Len).ToArray()];
		});
		using var m = d.Attach("s");
		var page = new byte[4096];
		var client = new Thread(() => m.Read(5 * 4096, page));
		client.Start();
		Cmd.WaitFor(() => d.Stat("s", "waiting") == 1, "the client's fault");
		var reader = Cmd.Start("dd", [$"if={FileOf("s")}", "bs=4096", "skip=5", "count=1", "status=none"], Env);
		Track(reader);
		var read = Streams.Collect(reader.StandardOutput.BaseStream);
		Cmd.WaitFor(() => d.Stat("s", "filewaiting") == 1, "the file read");
		gate.Set();
		Assert.True(client.Join(Cmd.Timeout));
		Assert.Equal(0, Streams.Exit(reader));
		Assert.Equal(bytes.AsSpan(5 * 4096, 4096).ToArray(), page);
		Assert.Equal(bytes.AsSpan(5 * 4096, 4096).ToArray(), Streams.Collected(read));
		Assert.Single(pager.Seen, r => r.Off <= 5 * 4096 && r.Off + r.Len > 5 * 4096);
	}

	/// Bytes written through the file are the map's at once; bytes a
	/// client writes are seen by the next open of the file; an evicted
	/// page is dropped from the file's cache too, so the next read of it,
	/// on a descriptor open all along, is a request again.
	[Fact]
	public void TheViewsAgreeAsThePageSays()
	{
		const int size = 256 << 10;
		var f = RandomFile(size);
		New("v", size, $"source=file:{f}");
		using var m = d.Attach("v");
		using (var w = File.OpenHandle(FileOf("v"), FileMode.Open, FileAccess.Write))
			RandomAccess.Write(w, "through the file"u8, 8192);
		var got = new byte[16];
		m.Read(8192, got);
		Assert.Equal("through the file"u8.ToArray(), got);
		m.Write(20000, "by a client"u8);
		var bytes = File.ReadAllBytes(FileOf("v"));
		Assert.Equal("by a client", System.Text.Encoding.ASCII.GetString(bytes, 20000, 11));

		using var fd = File.OpenHandle(FileOf("v"));
		var page = new byte[4096];
		RandomAccess.Read(fd, page, 40960);
		Cmd.WaitFor(() => d.Stat("v", "filewaiting") == 0, "the kernel's read-ahead to be answered");
		long asked = d.Stat("v", "requests");
		RandomAccess.Read(fd, page, 40960);
		Assert.Equal(asked, d.Stat("v", "requests"));
		Assert.Equal(0, Mapctl("sync", "v").Code);
		Assert.NotEqual("0", d.Ctl("evict v")[0]);
		Cmd.WaitFor(() =>
		{
			RandomAccess.Read(fd, page, 40960);
			return d.Stat("v", "requests") > asked;
		}, "the read after evict to be a request");
		Assert.Equal(File.ReadAllBytes(f).AsSpan(40960, 4096).ToArray(), page);
	}

	/// What the file view refuses, with the errno a program expects.
	[Fact]
	public void RefusesWhatAMapCannotDo()
	{
		var f = RandomFile(64 << 10);
		New("w", 64 << 10, $"source=file:{f}");
		New("r", 64 << 10, $"source=file:{f}", "mode=ro");
		var r = Python("""
			import errno, os, sys
			mnt = sys.argv[1]
			def tryit(what, f):
				try:
					f()
					print(what, "ok")
				except OSError as e:
					print(what, errno.errorcode[e.errno])
			tryit("create", lambda: open(mnt + "/new", "w"))
			tryit("mkdir", lambda: os.mkdir(mnt + "/d"))
			tryit("unlink", lambda: os.unlink(mnt + "/w"))
			tryit("rename", lambda: os.rename(mnt + "/w", mnt + "/x"))
			tryit("open ro for writing", lambda: open(mnt + "/r", "r+b"))
			tryit("truncate past the size", lambda: os.truncate(mnt + "/w", 1 << 20))
			fd = os.open(mnt + "/w", os.O_WRONLY)
			tryit("write past the end", lambda: os.pwrite(fd, b"x", 64 << 10))
			print("short write", os.pwrite(fd, b"abcdef", (64 << 10) - 2))
			os.truncate(mnt + "/w", 10000)
			print("size", os.stat(mnt + "/w").st_size, open(mnt + "/w", "rb").read() == open(sys.argv[2], "rb").read(10000))
			os.truncate(mnt + "/w", 20000)
			print("zeros", open(mnt + "/w", "rb").read()[10000:] == bytes(10000))
			print("ls", sorted(os.listdir(mnt)))
			""", Dir.Files(d.Root), f);
		Assert.True(r.Code == 0, r.Err);
		Assert.Equal("""
			create EPERM
			mkdir EPERM
			unlink EPERM
			rename EPERM
			open ro for writing EACCES
			truncate past the size EFBIG
			write past the end EFBIG
			short write 2
			size 10000 True
			zeros True
			ls ['r', 'w']

			""".Replace("\r", ""), r.Text);
		Assert.Matches("-r--r--r-- .* r\n", Cmd.Run("ls", ["-l", Dir.Files(d.Root)]).Text);
	}

	/// pagerd and the fusermount3 that would unmount its file view both
	/// killed leave a dead mount; the next pagerd unmounts it and mounts
	/// its own.
	[Fact]
	public void ADeadMountIsTakenOver()
	{
		var f = RandomFile(8192);
		New("m", 8192, $"source=file:{f}");
		var mnt = Dir.Files(d.Root);
		var helper = Cmd.Run("pgrep", ["-P", $"{d.Proc.Id}", "fusermount3"]).Text.Trim();
		Assert.Matches(@"^\d+$", helper);
		Tmds.Linux.LibC.kill(int.Parse(helper), Tmds.Linux.LibC.SIGKILL);
		d.Proc.Kill();
		Assert.True(d.Proc.WaitForExit(10_000));
		Assert.True(Pagerd.Mounted(mnt), "no dead mount was left");
		d.Restart(); // m is back, from the keeper
		Assert.Equal(0, Cmd.Run("cmp", [FileOf("m"), f]).Code);
		Assert.Contains("the file view of a pagerd that died is still mounted; unmounting it", d.Log);
	}

	/// A source or a file reply inside the file view, even through a
	/// symbolic link, would have pagerd wait on itself: it is refused,
	/// as is one in /proc, and pagerd serves on.
	[Fact]
	public void PagerdNeverOpensItsOwnFileView()
	{
		var f = RandomFile(8192);
		New("a", 8192, $"source=file:{f}");
		var link = Path.Combine(tmp, "link");
		File.CreateSymbolicLink(link, Path.Combine(d.Root, ".", "mnt"));
		New("b", 8192, $"source=file:{link}/../link/a");
		Assert.NotEqual(0, Mapctl("cat", "b").Code);
		New("c", 8192);
		using (new FifoPager(d, "c", r => [FifoPager.Line($"file c {r.Off} {r.Len} {FileOf("a")} {r.Off}")]))
			Assert.NotEqual(0, Mapctl("cat", "c").Code);
		foreach (var m in new[] { "b", "c" })
			Assert.Contains("in pagerd's own file view", string.Join('\n', d.Ctl($"err {m}")));
		// Nor /proc, where /proc/self/mem is pagerd's own memory.
		New("p", 8192);
		using (new FifoPager(d, "p", r => [FifoPager.Line($"file p {r.Off} {r.Len} /proc/self/mem 4096")]))
			Assert.NotEqual(0, Mapctl("cat", "p").Code);
		Assert.Contains("/proc/self/mem (pagerd reads no file of /proc)", string.Join('\n', d.Ctl("err p")));
		Assert.Equal(File.ReadAllBytes(f), Cat("a"));
		Assert.Equal(File.ReadAllBytes(f), File.ReadAllBytes(FileOf("a")));
	}

	/// Where the file view cannot be mounted, pagerd says so once and
	/// serves as before.
	[Fact]
	public void WithoutAFileViewPagerdServesOn()
	{
		var root = Path.Combine(tmp, "ns");
		var p = Bg("pagerd", "-f", "-d", root, "-m", "/proc/none/mnt");
		ServesWithoutAFileView(p, root);
		Assert.Single(Errors(p).Split('\n'), l => l.Contains("file view"));
	}

	/// The pagerd p on root serves a map byte-exact, and says it has no
	/// file view.
	void ServesWithoutAFileView(System.Diagnostics.Process p, string root)
	{
		Cmd.WaitFor(() => File.Exists(Dir.Socket(root)) || p.HasExited, "pagerd to serve");
		var env = new Dictionary<string, string> { ["PAGERDIR"] = root };
		var f = RandomFile(8192);
		Assert.Equal(0, Cmd.Run("mapctl", ["new", "m", "8192", $"source=file:{f}"], null, env).Code);
		Assert.Equal(File.ReadAllBytes(f), Cmd.Run("mapctl", ["cat", "m"], null, env).Out);
		Cmd.WaitFor(() => Errors(p).Contains("no file view: "), "pagerd to say there is no file view");
	}

	/// Without libfuse3 (here hidden by /dev/null mounted over it, in a
	/// mount namespace of pagerd's own), pagerd says so once, serves as
	/// before, and exits cleanly.
	[Fact]
	public void WithoutLibfuse3PagerdServesOn()
	{
		var lib = Cmd.Run("/sbin/ldconfig", ["-p"]).Text.Split('\n')
			.First(l => l.TrimStart().StartsWith("libfuse3.so.3 ")).Split("=> ")[1].Trim();
		var root = Path.Combine(tmp, "ns");
		var p = Bg("unshare", "--mount", "--propagation", "private", "sh", "-c",
			"mount --bind /dev/null \"$1\" && exec \"$2\" -f -d \"$3\"", "sh", lib, Cmd.Bin("pagerd"), root);
		ServesWithoutAFileView(p, root);
		Assert.Contains("pagerd: no file view: dlopen libfuse3.so.3 (is libfuse3-3 installed?): No such file or directory", Errors(p));
		Tmds.Linux.LibC.kill(p.Id, Kernel.Posix.SIGTERM);
		Assert.True(p.WaitForExit((int)Cmd.Timeout.TotalMilliseconds), "pagerd did not exit");
		Assert.True(p.ExitCode == 0, $"pagerd exited {p.ExitCode}: {Errors(p)}");
		Assert.False(Directory.Exists(root), $"{root} left behind");
	}
}
