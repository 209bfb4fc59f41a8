using System.Diagnostics;
using System.Text;
using Pager.Kernel;
using Xunit;

namespace Pager.Tests;

/// libpager from programs that are not .NET: C programs built with gcc
/// against pager.h and libpager.so (tests/c/mapuse.c, and the example of
/// pager(3)), and Python through ctypes, on maps served by the standard
/// pipeline.
public sealed class LibpagerTests : PagerdTest
{
	static readonly int KilledBySigbus = 128 + Posix.SIGBUS;

	Cmd.Result Mapuse(params string[] args) => Cmd.Run(Libpager.Mapuse, args, null, Libpager.Env(Env));

	/// mapuse started with its standard input open (for its wait command)
	/// and its standard error kept.
	(Process P, StringBuilder Err, Task<byte[]> Out) StartMapuse(string? grace, params string[] args)
	{
		var p = Cmd.Start(Libpager.Mapuse, args, Libpager.Env(Env, grace));
		Track(p);
		var err = new StringBuilder();
		p.ErrorDataReceived += (_, e) =>
		{
			if (e.Data is not null)
				lock (err)
					err.AppendLine(e.Data);
		};
		p.BeginErrorReadLine();
		return (p, err, Streams.Collect(p.StandardOutput.BaseStream));
	}

	static string Text(StringBuilder b)
	{
		lock (b)
			return b.ToString();
	}

	[Fact]
	public void ReadsWritesAndSyncsThroughThePipeline()
	{
		var f = PipelineMap("img", 1_000_003);
		var want = File.ReadAllBytes(f);
		var r = Mapuse("img", "rw", "cat", "0", $"{want.Length}", "write", "5000", "from C", "write", "999990", "the end", "sync");
		Assert.True(r.Code == 0, r.Err);
		Assert.True(want.AsSpan().SequenceEqual(r.Out), "mapuse read other bytes than the file's");
		Assert.Contains("sync ok", r.Err);
		"from C"u8.CopyTo(want.AsSpan(5000));
		"the end"u8.CopyTo(want.AsSpan(999990));
		Assert.True(want.AsSpan().SequenceEqual(File.ReadAllBytes(f)), "the file does not hold what was written");
		Assert.Equal(0, d.Stat("img", "dirty"));
		Assert.Equal("0", d.Get("img", "errors"));
	}

	/// Eight threads copy the whole map at once, each starting at a page of
	/// its own, so that they fault on different pages and on the same ones.
	[Fact]
	public void ThreadsFaultAtOnce()
	{
		var f = PipelineMap("many", (4 << 20) + 123);
		var r = Mapuse("many", "ro", "threads", "8");
		Assert.True(r.Code == 0, r.Err);
		Assert.True(File.ReadAllBytes(f).AsSpan().SequenceEqual(r.Out), "the threads read other bytes than the file's");
		Assert.Equal(Pages((4 << 20) + 123), d.Stat("many", "resident"));
		Assert.Equal("0", d.Get("many", "errors"));
	}

	/// A thread waits on a page nobody serves; pagerd is killed and does
	/// not come back within $PAGER_GRACE: the thread gets SIGBUS, and the
	/// library says why.
	[Fact]
	public void SigbusWhenPagerdDoesNotReturn()
	{
		New("gone", 65536);
		var (p, err, _) = StartMapuse("1s", "gone", "ro", "touch", "8192");
		Cmd.WaitFor(() => d.Stat("gone", "faults") >= 1, "mapuse's fault to reach pagerd");
		Assert.False(p.HasExited, Text(err));
		d.Kill();
		Assert.Equal(KilledBySigbus, Streams.Exit(p));
		p.WaitForExit();
		Assert.Contains("pager: map gone: lost pagerd", Text(err));
		Assert.DoesNotContain("touched", Text(err));
	}

	/// Once the grace period is over, a page that is there stays there:
	/// a write to it goes through (it has nowhere to be written back to),
	/// and only a missing page raises SIGBUS.
	[Fact]
	public void AfterTheGracePagesThereStayWritable()
	{
		PipelineMap("w", 65536);
		var (p, err, _) = StartMapuse("1s", "w", "rw", "cat", "0", "4096", "wait", "write", "100", "late", "touch", "8192");
		Cmd.WaitFor(() => d.Stat("w", "resident") >= 1, "the first page to be filled");
		d.Kill();
		Cmd.WaitFor(() => Text(err).Contains("lost pagerd"), "the grace period to end");
		p.StandardInput.WriteLine();
		p.StandardInput.Close();
		Assert.Equal(KilledBySigbus, Streams.Exit(p));
		p.WaitForExit();
		Assert.Contains("wrote 100", Text(err));
		Assert.DoesNotContain("touched", Text(err));
	}

	/// The question the project comes from, asked by a C program: it
	/// writes into pages of a file served over 9P, the server dies, and
	/// its sync fails naming each range while the error comes as a note;
	/// the server comes back, and the next sync puts every byte in the file.
	[Fact]
	public void SyncFailsWhileTheServerIsDownThenSucceeds()
	{
		const int size = 1 << 20;
		var (f, diod) = NinePMap("net", size);
		var want = File.ReadAllBytes(f);
		var (p, err, got) = StartMapuse(null, "net", "rw", "notes", "cat", "0", "8192",
			"write", "100", "written", "write", "700000", "more", "wait", "sync", "wait", "sync");
		Cmd.WaitFor(() => Text(err).Contains("wrote 700000"), "mapuse's writes");
		diod.Stop();
		p.StandardInput.WriteLine();
		p.StandardInput.Flush();
		Cmd.WaitFor(() => Text(err).Contains("sync failed"), "the failed sync");
		Cmd.WaitFor(() => Text(err).Contains("note error net"), "the error as a note");
		var e = Text(err);
		Assert.Contains("sync failed: sync net: 2 ranges not written back\n", e);
		Assert.Contains($"\n0 4096 pager: 9p {diod.Address}: connection refused\n", e);
		Assert.Contains($"\n{700000 / 4096 * 4096} 4096 pager: 9p {diod.Address}: connection refused\n", e);
		Assert.Contains($"note error net 0 4096 write-back: pager: 9p {diod.Address}: connection refused", e);
		Assert.Equal(2, d.Stat("net", "dirty"));
		Assert.DoesNotContain("sync ok", e);

		diod.Start();
		p.StandardInput.WriteLine();
		p.StandardInput.Close();
		Assert.True(Streams.Exit(p) == 0, Text(err));
		Assert.Contains("sync ok", Text(err));
		Assert.True(want.AsSpan(0, 8192).SequenceEqual(Streams.Collected(got)), "mapuse read other bytes than the file's");
		"written"u8.CopyTo(want.AsSpan(100));
		"more"u8.CopyTo(want.AsSpan(700000));
		Assert.True(want.AsSpan().SequenceEqual(File.ReadAllBytes(f)), "the file does not hold what was written");
		Assert.Equal(0, d.Stat("net", "dirty"));
	}

	/// A forked child finds no map (it dies of SIGSEGV touching it); the
	/// parent reads on.
	[Fact]
	public void ForkedChildDoesNotSeeTheMap()
	{
		var f = PipelineMap("f", 5 * 4096 + 7);
		var r = Mapuse("f", "ro", "cat", "0", "4096", "fork", "cat", "4096", "16391");
		Assert.True(r.Code == 0, r.Err);
		Assert.Contains("child: signal 11", r.Err);
		Assert.True(File.ReadAllBytes(f).AsSpan().SequenceEqual(r.Out), "the parent read other bytes than the file's");
	}

	/// A pager's error reaches the program's note function, on the
	/// library's thread, while the program waits for the test.
	[Fact]
	public void ErrorNoteReachesTheProgram()
	{
		New("bad", 65536, "policy=zero");
		using var pager = new FifoPager(d, "bad", m => [FifoPager.Line($"error bad {m.Off} {m.Len} no such block")]);
		var (p, err, got) = StartMapuse(null, "bad", "ro", "notes", "cat", "0", "4096", "wait", "detach");
		Cmd.WaitFor(() => Text(err).Contains("note error bad 0 4096 pager: no such block"), "the note on mapuse's standard error");
		p.StandardInput.WriteLine();
		p.StandardInput.Close();
		Assert.True(Streams.Exit(p) == 0, Text(err));
		Assert.Equal(new byte[4096], Streams.Collected(got));
	}

	/// At a fixed address: taken where it is free, refused where something
	/// is mapped already (never mapped over it).
	[Fact]
	public void AttachAtAFixedAddress()
	{
		var f = PipelineMap("fx", 10000);
		var exe = Libpager.CompileText("fixed", """
			#define _GNU_SOURCE
			#include <stdio.h>
			#include <string.h>
			#include <sys/mman.h>
			#include "pager.h"

			int
			main(int argc, char **argv)
			{
				char *want, *p, *taken, copy[16];
				size_t n;

				/*
				 * an address that is free, and far from where the kernel
				 * places mappings, which the library makes too (threads'
				 * stacks) before it maps the map
				 */
				want = mmap((void*)0x100000000000, 1<<20, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0);
				if(want != (void*)0x100000000000){
					printf("0x100000000000 is not free\n");
					return 1;
				}
				munmap(want, 1<<20);
				p = pager_attach(argv[1], PAGER_RO, want, &n);
				if(p != want){
					printf("attach at %p gave %p: %s\n", (void*)want, (void*)p, pager_errstr());
					return 1;
				}
				taken = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
				if(pager_attach(argv[1], PAGER_RO, taken, &n) != NULL){
					printf("attached over a mapping\n");
					return 1;
				}
				printf("%s\n", pager_errstr());
				memcpy(copy, p, sizeof copy);
				fwrite(copy, 1, sizeof copy, stdout);
				return pager_detach(p) < 0;
			}
			""");
		var r = Cmd.Run(exe, ["fx"], null, Libpager.Env(Env));
		Assert.True(r.Code == 0, r.Text + r.Err);
		int nl = Array.IndexOf(r.Out, (byte)'\n');
		Assert.Matches(@"^attach fx: mmap map fx at 0x[0-9a-f]+ \(the address is taken\): ", System.Text.Encoding.UTF8.GetString(r.Out, 0, nl));
		Assert.Equal(File.ReadAllBytes(f)[..16], r.Out[(nl + 1)..]);
	}

	/// The same from Python: the note function, a ctypes callback, runs on
	/// a thread that is not the program's.
	[Fact]
	public void ErrorNoteReachesPython()
	{
		New("bad", 65536, "policy=zero");
		using var pager = new FifoPager(d, "bad", m => [FifoPager.Line($"error bad {m.Off} {m.Len} no such block")]);
		var script = Path.Combine(TempDir(), "notes.py");
		File.WriteAllText(script, """
			import ctypes, sys, threading

			lib = ctypes.CDLL("libpager.so")
			lib.pager_attach.restype = ctypes.c_void_p
			lib.pager_attach.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t)]
			lib.pager_detach.argtypes = [ctypes.c_void_p]
			lib.pager_errstr.restype = ctypes.c_char_p
			NOTE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)
			lib.pager_notify.argtypes = [ctypes.c_void_p, NOTE, ctypes.c_void_p]

			main = threading.get_ident()
			got = []
			came = threading.Event()

			@NOTE
			def note(arg, text):
				got.append((threading.get_ident() != main, text.decode()))
				came.set()

			n = ctypes.c_size_t()
			p = lib.pager_attach(b"bad", 0, None, ctypes.byref(n))
			if not p:
				sys.exit(lib.pager_errstr().decode())
			lib.pager_notify(p, note, None)
			zeros = ctypes.string_at(p, 4096) == bytes(4096)
			if not came.wait(30):
				sys.exit("no note in 30s")
			print("other thread" if got[0][0] else "main thread", "|", got[0][1], "|", "zeros" if zeros else "not zeros")
			lib.pager_detach(p)
			""");
		var r = Cmd.Run("python3", [script], null, Libpager.Env(Env));
		Assert.True(r.Code == 0, r.Err);
		Assert.Equal("other thread | error bad 0 4096 pager: no such block | zeros\n", r.Text);
	}

	[Fact]
	public void AttachFailureSaysWhy()
	{
		var r = Mapuse("nosuch", "ro");
		Assert.Equal(1, r.Code);
		Assert.Equal("mapuse: attach: attach nosuch: no map 'nosuch'\n", r.Err);
	}

	/// The C program of pager(3)'s EXAMPLES, built with gcc, run by the
	/// page's own shell lines.
	[Fact]
	public void ManualCExampleRuns()
	{
		var c = Streams.Examples("pager.3").Single(e => e.Contains("#include <pager.h>"));
		var stamp = Libpager.CompileText("stamp", c);
		var bin = TempDir();
		File.CreateSymbolicLink(Path.Combine(bin, "stamp"), stamp);
		RunShellExample(bin);
	}

	/// The Python program of pager(3)'s EXAMPLES, run as stamp by the same lines.
	[Fact]
	public void ManualPythonExampleRuns()
	{
		var py = Streams.Examples("pager.3").Single(e => e.StartsWith("import ctypes"));
		var bin = TempDir();
		File.WriteAllText(Path.Combine(bin, "stamp.py"), py);
		var wrapper = Path.Combine(bin, "stamp");
		File.WriteAllText(wrapper, $"#!/bin/sh\nexec python3 {bin}/stamp.py \"$@\"\n");
		Posix.Chmod(wrapper, 0x1c0); // 0700
		RunShellExample(bin);
	}

	/// The page's shell lines, with stamp on PATH: they serve a copy of a
	/// file, cmp what stamp printed against the file, and show the copy's
	/// first five bytes. The pipeline they leave running goes with the
	/// shell, which waits for the test to end.
	void RunShellExample(string stampDir)
	{
		const string img = "/tmp/gpl.img", orig = "/usr/share/common-licenses/GPL-3";
		var lines = Streams.Examples("pager.3").Single(e => e.Contains("mapctl new"));
		var env = Libpager.Env(Env);
		env["PATH"] = $"{stampDir}:{Cmd.BinDir}:/usr/bin:/bin";
		Assert.False(File.Exists(img), $"{img} is in use; the example needs it");
		try
		{
			var p = Cmd.Start("/bin/sh", ["-c", $"set -e\n{lines}\necho ' example done'\nread x"], env);
			Track(p);
			var err = p.StandardError.ReadToEndAsync();
			string line = Streams.Line(p.StandardOutput);
			Assert.True(line == "hello example done", $"the example printed '{line}'; {(p.HasExited ? err.Result : "")}");
			var want = File.ReadAllBytes(orig);
			"hello"u8.CopyTo(want);
			Assert.True(want.AsSpan().SequenceEqual(File.ReadAllBytes(img)), $"{img} does not hold what stamp wrote");
			Assert.Equal(0, d.Stat("gpl", "dirty"));
			Stop(p);
		}
		finally
		{
			File.Delete(img);
		}
	}
}
