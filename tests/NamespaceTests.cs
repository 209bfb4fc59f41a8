using System.Diagnostics;
using Xunit;

namespace Pager.Tests;

/// Users kept apart: a namespace others could reach into is refused, the
/// socket is its owner's alone, and a peer of another user is told no.
/// pagerd also runs as an ordinary user (nobody, through setpriv).
public sealed class NamespaceTests : IDisposable
{
	const int Nobody = 65534;
	readonly string tmp = Directory.CreateTempSubdirectory("pager-ns").FullName;
	readonly List<Process> procs = [];

	public NamespaceTests() => Chmod(tmp, "755"); // nobody may enter

	public void Dispose()
	{
		// SIGTERM first: a pagerd killed with its fusermount3 would leave
		// its file view mounted, which nobody but its user may remove.
		foreach (var p in procs)
		{
			if (!p.HasExited)
				Tmds.Linux.LibC.kill(p.Id, Tmds.Linux.LibC.SIGTERM);
			if (!p.WaitForExit(10_000))
				p.Kill(true);
			p.WaitForExit(10_000);
			p.Dispose();
		}
		// A file view left mounted (its pagerd killed with its fusermount3)
		// is root's to remove, not nobody's.
		foreach (var l in File.ReadLines("/proc/self/mountinfo").ToList())
			if (l.Split(' ')[4].StartsWith(tmp + "/", StringComparison.Ordinal))
				Kernel.Posix.UmountDetach(l.Split(' ')[4]);
		Directory.Delete(tmp, true);
	}

	/// pagerd on root, which it must refuse: its one line of complaint.
	static string Refused(string root)
	{
		var r = Cmd.Run("pagerd", ["-f", "-d", root], null, null, TimeSpan.FromSeconds(30));
		Assert.Equal(1, r.Code);
		return r.Err.Trim();
	}

	[Fact]
	public void DirectoryOfAnotherUserIsRefused()
	{
		var root = Directory.CreateDirectory(Path.Combine(tmp, "theirs")).FullName;
		Chmod(root, "700");
		Chown(root, Nobody);
		Assert.Equal($"pagerd: {root}: the namespace belongs to uid {Nobody}, not to uid {Me}: refusing it", Refused(root));
		Assert.Empty(Directory.GetFileSystemEntries(root));
	}

	[Fact]
	public void DirectoryOpenToOthersIsRefused()
	{
		var root = Directory.CreateDirectory(Path.Combine(tmp, "open")).FullName;
		Chmod(root, "755");
		Assert.Equal($"pagerd: {root}: the namespace has mode 755, which lets other users in: refusing it (chmod 700 it)", Refused(root));
	}

	[Fact]
	public void SymbolicLinkIsRefused()
	{
		var target = Directory.CreateDirectory(Path.Combine(tmp, "target")).FullName;
		Chmod(target, "700");
		var root = Path.Combine(tmp, "link");
		File.CreateSymbolicLink(root, target);
		Assert.Equal($"pagerd: {root}: the namespace is a symbolic link: refusing it", Refused(root));
		Assert.Empty(Directory.GetFileSystemEntries(target));
	}

	/// A pagerd that fails part way through starting (here at its ctl FIFO,
	/// with a directory in the way) says why and leaves nothing of its own.
	[Fact]
	public void APagerdThatCannotStartLeavesNothing()
	{
		var root = Directory.CreateDirectory(Path.Combine(tmp, "blocked")).FullName;
		Chmod(root, "700");
		Directory.CreateDirectory(Path.Combine(root, "ctl"));
		Assert.Equal($"pagerd: {root}: mkfifo {root}/ctl (there already, and not a FIFO of this user's): File exists", Refused(root));
		Assert.Equal(["ctl"], Directory.GetFileSystemEntries(root).Select(Path.GetFileName));
	}

	[Fact]
	public void SocketAndFifosAreTheOwnersAlone()
	{
		using var d = new Pagerd(Path.Combine(tmp, "mine"));
		d.Ctl("new m 64k source=zero");
		Assert.Equal(0x180u, Mode(Path.Combine(d.Root, "sock")));
		Assert.Equal(0x1c0u, Mode(d.Root));
		foreach (var f in Directory.GetFiles(Path.Combine(d.Root, "m")).Append(Path.Combine(d.Root, "ctl")))
			Assert.True((Mode(f) & 0x7) == 0, $"{f} is open to others");
	}

	/// A pagerd killed outright leaves its namespace behind; the next one
	/// takes it over with the maps its keeper kept.
	[Fact]
	public void NamespaceOfADeadPagerdIsTakenOver()
	{
		using var d = new Pagerd(Path.Combine(tmp, "crashed"));
		var (src, want) = Source(64 << 10);
		d.Ctl($"new m 64k source=file:{src}");
		d.Kill();
		Assert.True(File.Exists(Path.Combine(d.Root, "m", "fault")));
		d.Restart();
		Assert.Equal(want, Cmd.Run("mapctl", "-d", d.Root, "cat", "m").Out);
	}

	/// With its keeper dead too (as when the machine goes down), the
	/// namespace is stale: the next pagerd starts empty on it, and a map
	/// of the same name is made again.
	[Fact]
	public void StaleNamespaceIsTakenOver()
	{
		using var d = new Pagerd(Path.Combine(tmp, "stale"));
		var (src, want) = Source(64 << 10);
		d.Ctl($"new m 64k source=file:{src}");
		d.Kill();
		d.KillKeeper();
		d.Restart();
		Assert.Empty(d.Ctl("ls"));
		d.Ctl($"new m 64k source=file:{src}");
		Assert.Equal(want, Cmd.Run("mapctl", "-d", d.Root, "cat", "m").Out);
	}

	/// pagerd as nobody serves nobody's clients byte-exact, and refuses
	/// root's, saying whose pagerd it is.
	[Fact]
	public void OrdinaryUsersPagerdServesOnlyThatUser()
	{
		var home = Directory.CreateDirectory(Path.Combine(tmp, "nobody")).FullName;
		Chown(home, Nobody);
		var root = Path.Combine(home, "ns");
		var env = new Dictionary<string, string> { ["PAGERDIR"] = root, ["HOME"] = home };
		var p = Cmd.Start("setpriv", [.. AsNobody, Cmd.Bin("pagerd"), "-f"], env);
		procs.Add(p);
		p.StandardInput.Close();
		Cmd.WaitFor(() => File.Exists(Path.Combine(root, "sock")) || p.HasExited, "pagerd to serve as nobody");
		Assert.False(p.HasExited, "pagerd exited: " + (p.HasExited ? p.StandardError.ReadToEnd() : ""));
		Assert.Equal((uint)Nobody, Kernel.Posix.Lstat(root).Uid);

		var (src, want) = Source(64 << 10);
		var r = Cmd.Run("setpriv", [.. AsNobody, "sh", "-c", $"mapctl new m 64k source=file:{src} && mapctl cat m"], null, env);
		Assert.True(r.Code == 0, r.Err);
		Assert.Equal(want, r.Out);
		// Its file view, mounted through fusermount3, is nobody's alone.
		var file = Path.Combine(root, "mnt", "m");
		r = Cmd.Run("setpriv", [.. AsNobody, "cat", file], null, env);
		Assert.True(r.Code == 0, r.Err);
		Assert.Equal(want, r.Out);
		r = Cmd.Run("cat", file);
		Assert.Contains("Permission denied", r.Err);

		r = Cmd.Run("mapctl", ["-d", root, "ls"]);
		Assert.Equal(1, r.Code);
		Assert.Matches($@"^mapctl: .*refused: uid 0 \(pid \d+\) is not uid {Nobody}, whose pagerd this is\n$", r.Err);
	}

	/// As nobody: the README's demo, then the standard pipeline with a
	/// write and a sync reaching the file, the C# client (mapctl) reading
	/// through it, and the file view.
	[Fact]
	public void TheToolkitRunsAsAnOrdinaryUser()
	{
		var home = Directory.CreateDirectory(Path.Combine(tmp, "nobody")).FullName;
		Chown(home, Nobody);
		var env = new Dictionary<string, string> { ["HOME"] = home, ["PATH"] = "/usr/bin:/bin" };
		var demo = Cmd.Run("setpriv", [.. AsNobody, Path.Combine(Cmd.Repo, "rc", "demo")], null, env);
		Assert.True(demo.Code == 0, demo.Err);
		Assert.Contains("the map equals the file", demo.Text);

		var (src, want) = Source(256 << 10);
		var img = Path.Combine(home, "img");
		File.Copy(src, img);
		Chown(img, Nobody);
		var ns = Path.Combine(home, "ns");
		env["PATH"] = $"{Cmd.BinDir}:/usr/bin:/bin";
		env["PAGERDIR"] = ns;
		var r = Cmd.Run("setpriv", [.. AsNobody, "sh", "-e", "-c", $$"""
			pagerd -f 2>{{home}}/log &
			pd=$!
			trap 'kill $pd; wait $pd' EXIT
			while ! test -S $PAGERDIR/sock; do sleep 0.05; done
			mapctl new m {{256 << 10}}
			faultcat m | pagefill file:{{img}} >$PAGERDIR/m/fill &
			mapctl cat m | cmp - {{src}}
			cmp $PAGERDIR/mnt/m {{src}}
			echo changed | mapctl write m 4096
			mapctl sync m
			echo synced
			"""], null, env);
		Assert.True(r.Code == 0, r.Err + File.ReadAllText(Path.Combine(home, "log")));
		Assert.Equal("synced\n", r.Text);
		"changed\n"u8.CopyTo(want.AsSpan(4096));
		Assert.Equal(want, File.ReadAllBytes(img));
	}

	/// A user whose only way to userfaultfd is /dev/userfaultfd (the system
	/// call refuses it): its pagerd makes maps and its client reads them.
	/// The features were asked of the system call, which refused, so the
	/// kernel seemed to lack them all.
	[Fact]
	public void AUserGivenTheDeviceServesMaps()
	{
		Assert.Equal("0", File.ReadAllText("/proc/sys/vm/unprivileged_userfaultfd").Trim());
		const string group = "4242"; // given the device for the test alone
		Assert.Equal(0, Cmd.Run("chgrp", group, "/dev/userfaultfd").Code);
		Chmod("/dev/userfaultfd", "660");
		try
		{
			var home = Directory.CreateDirectory(Path.Combine(tmp, "nobody")).FullName;
			Chown(home, Nobody);
			var env = new Dictionary<string, string> { ["PAGERDIR"] = Path.Combine(home, "ns"), ["HOME"] = home };
			string[] asNobody = ["--reuid", $"{Nobody}", "--regid", $"{Nobody}", "--groups", group];
			var p = Cmd.Start("setpriv", [.. asNobody, Cmd.Bin("pagerd"), "-f"], env);
			procs.Add(p);
			p.StandardInput.Close();
			Cmd.WaitFor(() => File.Exists(Path.Combine(home, "ns", "sock")) || p.HasExited, "pagerd to serve");
			var (src, want) = Source(64 << 10);
			var r = Cmd.Run("setpriv", [.. asNobody, "sh", "-c", $"mapctl new m 64k source=file:{src} && mapctl cat m"], null, env);
			Assert.True(r.Code == 0, r.Err);
			Assert.Equal(want, r.Out);
		}
		finally
		{
			Cmd.Run("chgrp", "0", "/dev/userfaultfd");
			Chmod("/dev/userfaultfd", "600");
		}
	}

	/// A file of random bytes anyone may read.
	(string Path, byte[] Bytes) Source(int size)
	{
		var b = new byte[size];
		new Random(size).NextBytes(b);
		var path = System.IO.Path.Combine(tmp, $"src-{size}");
		File.WriteAllBytes(path, b);
		Chmod(path, "644");
		return (path, b);
	}

	static string[] AsNobody => ["--reuid", $"{Nobody}", "--regid", $"{Nobody}", "--clear-groups"];

	static uint Me => Kernel.Posix.Geteuid();

	static uint Mode(string path) => Kernel.Posix.Lstat(path).Mode;

	static void Chmod(string path, string mode) => Assert.Equal(0, Cmd.Run("chmod", mode, path).Code);

	static void Chown(string path, int uid) => Assert.Equal(0, Cmd.Run("chown", $"{uid}", path).Code);
}
