using System.Reflection;
using System.Runtime.InteropServices;
using Pager.Kernel;
using Tmds.Linux;
using Xunit;
using static Pager.Kernel.Uffd;

namespace Pager.Tests;

/// The declarations in UffdNative.cs against the kernel's: a C program
/// compiled against <linux/userfaultfd.h> prints sizes, offsets and
/// constants, and the kernel itself answers ioctls made with them.
public unsafe class UffdAbiTests
{
	// Debian 12's header predates these; the values are the kernel's
	// include/uapi/linux/userfaultfd.h (6.6 for POISON, 6.8 for MOVE).
	// Everything else comes from the header.
	const string Program = """
		#include <stddef.h>
		#include <stdio.h>
		#include <sys/ioctl.h>
		#include <sys/syscall.h>
		#include <linux/userfaultfd.h>

		#ifndef UFFD_FEATURE_WP_UNPOPULATED
		#define UFFD_FEATURE_WP_UNPOPULATED (1<<13)
		#endif
		#ifndef UFFD_FEATURE_POISON
		#define UFFD_FEATURE_POISON (1<<14)
		#endif
		#ifndef UFFD_FEATURE_WP_ASYNC
		#define UFFD_FEATURE_WP_ASYNC (1<<15)
		#endif
		#ifndef UFFD_FEATURE_MOVE
		#define UFFD_FEATURE_MOVE (1<<16)
		#endif
		#ifndef UFFDIO_POISON
		#define _UFFDIO_POISON (0x08)
		struct uffdio_poison {
			struct uffdio_range range;
		#define UFFDIO_POISON_MODE_DONTWAKE ((__u64)1<<0)
			__u64 mode;
			__s64 updated;
		};
		#define UFFDIO_POISON _IOWR(UFFDIO, _UFFDIO_POISON, struct uffdio_poison)
		#endif

		#define SIZE(T) printf("sizeof %s %zu\n", #T, sizeof(struct T))
		#define FIELD(T, f, path) printf("offset %s.%s %zu\nsize %s.%s %zu\n", \
			#T, #f, offsetof(struct T, path), #T, #f, sizeof(((struct T *)0)->path))
		#define INT(T, f, path) FIELD(T, f, path); \
			printf("signed %s.%s %d\n", #T, #f, (__typeof__(((struct T *)0)->path))-1 < 0)
		#define CONST(x) printf("%s %llu\n", #x, (unsigned long long)(x))

		int
		main(void)
		{
			SIZE(uffdio_api);
			INT(uffdio_api, api, api);
			INT(uffdio_api, features, features);
			INT(uffdio_api, ioctls, ioctls);

			SIZE(uffdio_range);
			INT(uffdio_range, start, start);
			INT(uffdio_range, len, len);

			SIZE(uffdio_register);
			FIELD(uffdio_register, range, range);
			INT(uffdio_register, mode, mode);
			INT(uffdio_register, ioctls, ioctls);

			SIZE(uffdio_copy);
			INT(uffdio_copy, dst, dst);
			INT(uffdio_copy, src, src);
			INT(uffdio_copy, len, len);
			INT(uffdio_copy, mode, mode);
			INT(uffdio_copy, copy, copy);

			SIZE(uffdio_zeropage);
			FIELD(uffdio_zeropage, range, range);
			INT(uffdio_zeropage, mode, mode);
			INT(uffdio_zeropage, zeropage, zeropage);

			SIZE(uffdio_writeprotect);
			FIELD(uffdio_writeprotect, range, range);
			INT(uffdio_writeprotect, mode, mode);

			SIZE(uffdio_poison);
			FIELD(uffdio_poison, range, range);
			INT(uffdio_poison, mode, mode);
			INT(uffdio_poison, updated, updated);

			SIZE(uffd_msg);
			INT(uffd_msg, event, event);
			INT(uffd_msg, pagefault_flags, arg.pagefault.flags);
			INT(uffd_msg, pagefault_address, arg.pagefault.address);
			INT(uffd_msg, pagefault_ptid, arg.pagefault.feat.ptid);
			INT(uffd_msg, fork_ufd, arg.fork.ufd);
			INT(uffd_msg, remap_from, arg.remap.from);
			INT(uffd_msg, remap_to, arg.remap.to);
			INT(uffd_msg, remap_len, arg.remap.len);
			INT(uffd_msg, remove_start, arg.remove.start);
			INT(uffd_msg, remove_end, arg.remove.end);

			CONST(__NR_userfaultfd);
			CONST(UFFD_API);
			CONST(UFFD_USER_MODE_ONLY);

			CONST(UFFDIO_API);
			CONST(UFFDIO_REGISTER);
			CONST(UFFDIO_UNREGISTER);
			CONST(UFFDIO_WAKE);
			CONST(UFFDIO_COPY);
			CONST(UFFDIO_ZEROPAGE);
			CONST(UFFDIO_WRITEPROTECT);
			CONST(UFFDIO_POISON);
			CONST(USERFAULTFD_IOC_NEW);

			CONST(UFFD_EVENT_PAGEFAULT);
			CONST(UFFD_EVENT_FORK);
			CONST(UFFD_EVENT_REMAP);
			CONST(UFFD_EVENT_REMOVE);
			CONST(UFFD_EVENT_UNMAP);

			CONST(UFFD_PAGEFAULT_FLAG_WRITE);
			CONST(UFFD_PAGEFAULT_FLAG_WP);
			CONST(UFFD_PAGEFAULT_FLAG_MINOR);

			CONST(UFFD_FEATURE_PAGEFAULT_FLAG_WP);
			CONST(UFFD_FEATURE_EVENT_FORK);
			CONST(UFFD_FEATURE_EVENT_REMAP);
			CONST(UFFD_FEATURE_EVENT_REMOVE);
			CONST(UFFD_FEATURE_MISSING_HUGETLBFS);
			CONST(UFFD_FEATURE_MISSING_SHMEM);
			CONST(UFFD_FEATURE_EVENT_UNMAP);
			CONST(UFFD_FEATURE_SIGBUS);
			CONST(UFFD_FEATURE_THREAD_ID);
			CONST(UFFD_FEATURE_MINOR_HUGETLBFS);
			CONST(UFFD_FEATURE_MINOR_SHMEM);
			CONST(UFFD_FEATURE_EXACT_ADDRESS);
			CONST(UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
			CONST(UFFD_FEATURE_WP_UNPOPULATED);
			CONST(UFFD_FEATURE_POISON);
			CONST(UFFD_FEATURE_WP_ASYNC);
			CONST(UFFD_FEATURE_MOVE);

			CONST(UFFDIO_REGISTER_MODE_MISSING);
			CONST(UFFDIO_REGISTER_MODE_WP);
			CONST(UFFDIO_REGISTER_MODE_MINOR);

			CONST(UFFDIO_COPY_MODE_DONTWAKE);
			CONST(UFFDIO_COPY_MODE_WP);
			CONST(UFFDIO_ZEROPAGE_MODE_DONTWAKE);
			CONST(UFFDIO_WRITEPROTECT_MODE_WP);
			CONST(UFFDIO_WRITEPROTECT_MODE_DONTWAKE);
			CONST(UFFDIO_POISON_MODE_DONTWAKE);
			return 0;
		}
		""";

	static readonly Lazy<Dictionary<string, ulong>> fromC = new(RunC);

	/// Compiles and runs Program; its output as name → value.
	static Dictionary<string, ulong> RunC()
	{
		var dir = Directory.CreateTempSubdirectory("uffdabi");
		try
		{
			var src = Path.Combine(dir.FullName, "abi.c");
			var exe = Path.Combine(dir.FullName, "abi");
			File.WriteAllText(src, Program);
			var cc = Cmd.Run("gcc", ["-Wall", "-o", exe, src], null, null, TimeSpan.FromSeconds(60));
			Assert.True(cc.Code == 0, "gcc failed:\n" + cc.Err);
			var run = Cmd.Run(exe, [], null, null, TimeSpan.FromSeconds(10));
			Assert.True(run.Code == 0, "abi program failed:\n" + run.Err);
			var d = new Dictionary<string, ulong>();
			foreach (var line in run.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
			{
				int sp = line.LastIndexOf(' ');
				d.Add(line[..sp], ulong.Parse(line[(sp + 1)..]));
			}
			return d;
		}
		finally
		{
			dir.Delete(true);
		}
	}

	static readonly Type[] structs =
	[
		typeof(uffdio_api), typeof(uffdio_range), typeof(uffdio_register), typeof(uffdio_copy),
		typeof(uffdio_zeropage), typeof(uffdio_writeprotect), typeof(uffdio_poison), typeof(uffd_msg),
	];

	/// The same facts as Program prints, from the C# declarations.
	static Dictionary<string, ulong> StructsInCSharp()
	{
		var d = new Dictionary<string, ulong>();
		foreach (var t in structs)
		{
			d.Add($"sizeof {t.Name}", (ulong)Marshal.SizeOf(t));
			foreach (var f in t.GetFields(BindingFlags.Public | BindingFlags.Instance))
			{
				var name = $"{t.Name}.{f.Name}";
				d.Add("offset " + name, (ulong)Marshal.OffsetOf(t, f.Name));
				d.Add("size " + name, (ulong)Marshal.SizeOf(f.FieldType));
				if (f.FieldType.IsPrimitive)
					d.Add("signed " + name, f.FieldType == typeof(long) || f.FieldType == typeof(int) ? 1ul : 0ul);
			}
		}
		return d;
	}

	static Dictionary<string, ulong> ConstantsInCSharp()
	{
		var d = new Dictionary<string, ulong> { ["__NR_userfaultfd"] = (ulong)SyscallNumber };
		foreach (var f in typeof(Uffd).GetFields(BindingFlags.Public | BindingFlags.Static))
			if (f.FieldType.IsPrimitive)
				d.Add(f.Name, Convert.ToUInt64(f.GetValue(null)));
		return d;
	}

	/// Every name on either side, with both values where they differ.
	static void Same(Dictionary<string, ulong> cs, Func<string, bool> mine)
	{
		var c = fromC.Value.Where(kv => mine(kv.Key)).ToDictionary();
		var bad = new List<string>();
		foreach (var name in c.Keys.Union(cs.Keys).Order())
		{
			string C = c.TryGetValue(name, out var v) ? $"0x{v:x}" : "missing";
			string CS = cs.TryGetValue(name, out var w) ? $"0x{w:x}" : "missing";
			if (C != CS)
				bad.Add($"{name}: C {C}, C# {CS}");
		}
		Assert.True(bad.Count == 0, string.Join("\n", bad));
		Assert.NotEmpty(c);
	}

	static bool IsStruct(string name) =>
		name.StartsWith("sizeof ") || name.StartsWith("offset ") || name.StartsWith("size ") || name.StartsWith("signed ");

	[Fact]
	public void StructsMatchHeader() => Same(StructsInCSharp(), IsStruct);

	[Fact]
	public void ConstantsMatchHeader() => Same(ConstantsInCSharp(), n => !IsStruct(n));

	// The kernel names an ioctl by its whole number: a wrong size or
	// direction is refused. The ioctls masks it answers are 1<<nr.
	static ulong Bit(uint ioctl) => 1ul << (int)(ioctl & 0xFF);

	static void Ok(int rc, string what)
	{
		int err = Sys.Errno;
		Assert.True(rc == 0, $"ioctl {what}: {Sys.StrError(err)}");
	}

	[Fact]
	public void KernelAnswersApi()
	{
		int fd = (int)LibC.syscall(SyscallNumber, Posix.O_CLOEXEC | UFFD_USER_MODE_ONLY);
		Assert.True(fd >= 0, "userfaultfd: " + Sys.StrError(Sys.Errno));
		try
		{
			var api = new uffdio_api { api = UFFD_API };
			Ok(LibC.ioctl(fd, (int)UFFDIO_API, &api), "UFFDIO_API");
			Assert.Equal(UFFD_API, api.api);
			ulong want = Bit(UFFDIO_API) | Bit(UFFDIO_REGISTER) | Bit(UFFDIO_UNREGISTER);
			Assert.Equal(want, api.ioctls & want);
			Assert.NotEqual(0ul, api.features & UFFD_FEATURE_MISSING_SHMEM);
		}
		finally
		{
			LibC.close(fd);
		}

		// /dev/userfaultfd, where this user may open it.
		int dev = Posix.TryOpen("/dev/userfaultfd", LibC.O_RDWR);
		if (dev < 0)
			return;
		int nfd = LibC.ioctl(dev, (int)USERFAULTFD_IOC_NEW, Posix.O_CLOEXEC);
		int err = Sys.Errno;
		LibC.close(dev);
		Assert.True(nfd >= 0, "ioctl USERFAULTFD_IOC_NEW: " + Sys.StrError(err));
		LibC.close(nfd);
	}

	/// Each range ioctl, made by hand on a registered memfd mapping, with
	/// the kernel's answers read from where the C# structs put them.
	[Fact]
	public void KernelAnswersRangeIoctls()
	{
		const ulong P = Userfaultfd.Page;
		using var u = Userfaultfd.Create(UFFD_FEATURE_MISSING_SHMEM, UFFD_FEATURE_POISON | UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
		bool poison = (u.Features & UFFD_FEATURE_POISON) != 0;
		bool wp = (u.Features & UFFD_FEATURE_WP_HUGETLBFS_SHMEM) != 0;
		int mfd = Posix.MemfdCreate("uffdabi");
		byte* map = null;
		byte* src = (byte*)NativeMemory.AlignedAlloc((nuint)P, (nuint)P);
		try
		{
			Posix.Ftruncate(mfd, 3 * (long)P, "memfd");
			map = Posix.MapShared(mfd, 3 * (long)P, true, 0, "memfd");
			ulong a = (ulong)map;
			for (int i = 0; i < (int)P; i++)
				src[i] = (byte)(i * 7 + 3);

			var reg = new uffdio_register
			{
				range = new() { start = a, len = 3 * P },
				mode = UFFDIO_REGISTER_MODE_MISSING | (wp ? UFFDIO_REGISTER_MODE_WP : 0),
			};
			Ok(LibC.ioctl(u.Fd, (int)UFFDIO_REGISTER, &reg), "UFFDIO_REGISTER");
			ulong want = Bit(UFFDIO_WAKE) | Bit(UFFDIO_COPY) | Bit(UFFDIO_ZEROPAGE)
				| (poison ? Bit(UFFDIO_POISON) : 0) | (wp ? Bit(UFFDIO_WRITEPROTECT) : 0);
			Assert.Equal($"0x{want:x}", $"0x{reg.ioctls & want:x}");

			var c = new uffdio_copy { dst = a, src = (ulong)src, len = P };
			Ok(LibC.ioctl(u.Fd, (int)UFFDIO_COPY, &c), "UFFDIO_COPY");
			Assert.Equal((long)P, c.copy);

			var z = new uffdio_zeropage { range = new() { start = a + P, len = P } };
			Ok(LibC.ioctl(u.Fd, (int)UFFDIO_ZEROPAGE, &z), "UFFDIO_ZEROPAGE");
			Assert.Equal((long)P, z.zeropage);

			if (wp)
			{
				var wr = new uffdio_writeprotect { range = new() { start = a, len = P }, mode = UFFDIO_WRITEPROTECT_MODE_WP };
				Ok(LibC.ioctl(u.Fd, (int)UFFDIO_WRITEPROTECT, &wr), "UFFDIO_WRITEPROTECT");
			}

			if (poison)
			{
				var p = new uffdio_poison { range = new() { start = a + 2 * P, len = P } };
				Ok(LibC.ioctl(u.Fd, (int)UFFDIO_POISON, &p), "UFFDIO_POISON");
				Assert.Equal((long)P, p.updated);
			}

			// A second copy onto a page that exists: EEXIST, and -EEXIST in copy.
			c = new uffdio_copy { dst = a, src = (ulong)src, len = P };
			int rc = LibC.ioctl(u.Fd, (int)UFFDIO_COPY, &c);
			int err = Sys.Errno;
			Assert.Equal(-1, rc);
			Assert.Equal(Errno.EEXIST, err);
			Assert.Equal(-Errno.EEXIST, c.copy);

			var w = new uffdio_range { start = a, len = 3 * P };
			Ok(LibC.ioctl(u.Fd, (int)UFFDIO_WAKE, &w), "UFFDIO_WAKE");
			Ok(LibC.ioctl(u.Fd, (int)UFFDIO_UNREGISTER, &w), "UFFDIO_UNREGISTER");

			// The copied page is in the file; the mapping's poisoned page is never touched.
			var back = new byte[P];
			Posix.PRead(mfd, back, 0, "memfd");
			Assert.Equal(new ReadOnlySpan<byte>(src, (int)P).ToArray(), back);
		}
		finally
		{
			if (map != null)
				Posix.Munmap(map, 3 * (long)P);
			Posix.Close(mfd);
			NativeMemory.AlignedFree(src);
		}
	}

	[DllImport("libc.so.6")]
	static extern void* memcpy(void* dst, void* src, nuint n);

	static int Gettid() => (int)LibC.syscall(RuntimeInformation.ProcessArchitecture switch
	{
		Architecture.X64 => 186,
		Architecture.Arm64 => 178,
		Architecture.Arm => 224,
		var a => throw new PlatformNotSupportedException($"gettid on {a}"),
	});

	/// A fault from another thread arrives as a message naming the page
	/// and the thread; Copy answers it and the thread reads the bytes.
	[Fact]
	public void FaultReadCopied()
	{
		const ulong P = Userfaultfd.Page;
		var wait = TimeSpan.FromSeconds(10);
		using var u = Userfaultfd.Create(UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_THREAD_ID);
		Assert.Equal(UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_THREAD_ID, u.Features & (UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_THREAD_ID));

		int mfd = Posix.MemfdCreate("uffdabi");
		byte* map = null;
		byte* src = (byte*)NativeMemory.AlignedAlloc((nuint)P, (nuint)P);
		Thread? t = null;
		try
		{
			Posix.Ftruncate(mfd, (long)P, "memfd");
			map = Posix.MapShared(mfd, (long)P, false, 0, "memfd");
			ulong a = (ulong)map;
			for (int i = 0; i < (int)P; i++)
				src[i] = (byte)(i * 7 + 3);
			u.Register(a, P, UFFDIO_REGISTER_MODE_MISSING);

			// The faulting read is in native code, so the thread blocked
			// in it does not hold up the garbage collector.
			var got = new byte[64];
			int tid = 0;
			t = new Thread(() =>
			{
				Volatile.Write(ref tid, Gettid());
				fixed (byte* g = got)
					memcpy(g, (byte*)a + 100, (nuint)got.Length);
			}) { IsBackground = true };
			t.Start();

			var msgs = new uffd_msg[4];
			int n;
			var end = DateTime.UtcNow + wait;
			while ((n = u.Read(msgs)) == 0)
			{
				Assert.True(DateTime.UtcNow < end, "no fault event within " + wait);
				Thread.Sleep(1);
			}
			Assert.Equal(1, n);
			var m = msgs[0];
			Assert.Equal(UFFD_EVENT_PAGEFAULT, m.@event);
			Assert.Equal($"0x{a:x}", $"0x{m.pagefault_address:x}"); // page-aligned: no EXACT_ADDRESS
			Assert.Equal(0ul, m.pagefault_flags & UFFD_PAGEFAULT_FLAG_WRITE);
			Assert.Equal(Volatile.Read(ref tid), (int)m.pagefault_ptid);
			Assert.NotEqual(0, (int)m.pagefault_ptid);

			Assert.Equal(P, u.Copy(a, (ulong)src, P));
			Assert.True(t.Join(wait), "faulting thread still blocked after the copy");
			Assert.Equal(new ReadOnlySpan<byte>(src + 100, got.Length).ToArray(), got);
		}
		finally
		{
			u.Dispose(); // wakes a thread still waiting on the fault
			bool done = t is null || t.Join(wait);
			if (map != null && done)
				Posix.Munmap(map, (long)P);
			Posix.Close(mfd);
			NativeMemory.AlignedFree(src);
		}
	}
}
