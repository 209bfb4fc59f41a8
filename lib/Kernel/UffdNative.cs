using System.Runtime.InteropServices;

namespace Pager.Kernel;

// The userfaultfd ABI, as in the kernel's include/uapi/linux/userfaultfd.h.
// Declared here once: Debian's header is older than the kernel and lacks
// UFFDIO_POISON, UFFDIO_MOVE and the newer feature bits.

[StructLayout(LayoutKind.Sequential)]
public struct uffdio_api
{
	public ulong api;
	public ulong features;
	public ulong ioctls;
}

[StructLayout(LayoutKind.Sequential)]
public struct uffdio_range
{
	public ulong start;
	public ulong len;
}

[StructLayout(LayoutKind.Sequential)]
public struct uffdio_register
{
	public uffdio_range range;
	public ulong mode;
	public ulong ioctls;
}

[StructLayout(LayoutKind.Sequential)]
public struct uffdio_copy
{
	public ulong dst;
	public ulong src;
	public ulong len;
	public ulong mode;
	public long copy;
}

[StructLayout(LayoutKind.Sequential)]
public struct uffdio_zeropage
{
	public uffdio_range range;
	public ulong mode;
	public long zeropage;
}

[StructLayout(LayoutKind.Sequential)]
public struct uffdio_writeprotect
{
	public uffdio_range range;
	public ulong mode;
}

[StructLayout(LayoutKind.Sequential)]
public struct uffdio_poison
{
	public uffdio_range range;
	public ulong mode;
	public long updated;
}

/// struct uffd_msg: 32 bytes, an event byte and a union of 24 bytes.
[StructLayout(LayoutKind.Explicit, Size = 32)]
public struct uffd_msg
{
	[FieldOffset(0)] public byte @event;
	// pagefault
	[FieldOffset(8)] public ulong pagefault_flags;
	[FieldOffset(16)] public ulong pagefault_address;
	[FieldOffset(24)] public uint pagefault_ptid;
	// fork
	[FieldOffset(8)] public uint fork_ufd;
	// remap
	[FieldOffset(8)] public ulong remap_from;
	[FieldOffset(16)] public ulong remap_to;
	[FieldOffset(24)] public ulong remap_len;
	// remove, unmap
	[FieldOffset(8)] public ulong remove_start;
	[FieldOffset(16)] public ulong remove_end;
}

public static class Uffd
{
	public const ulong UFFD_API = 0xAA;
	public const int UFFD_USER_MODE_ONLY = 1;

	public const byte UFFD_EVENT_PAGEFAULT = 0x12;
	public const byte UFFD_EVENT_FORK = 0x13;
	public const byte UFFD_EVENT_REMAP = 0x14;
	public const byte UFFD_EVENT_REMOVE = 0x15;
	public const byte UFFD_EVENT_UNMAP = 0x16;

	public const ulong UFFD_PAGEFAULT_FLAG_WRITE = 1 << 0;
	public const ulong UFFD_PAGEFAULT_FLAG_WP = 1 << 1;
	public const ulong UFFD_PAGEFAULT_FLAG_MINOR = 1 << 2;

	public const ulong UFFD_FEATURE_PAGEFAULT_FLAG_WP = 1 << 0;
	public const ulong UFFD_FEATURE_EVENT_FORK = 1 << 1;
	public const ulong UFFD_FEATURE_EVENT_REMAP = 1 << 2;
	public const ulong UFFD_FEATURE_EVENT_REMOVE = 1 << 3;
	public const ulong UFFD_FEATURE_MISSING_HUGETLBFS = 1 << 4;
	public const ulong UFFD_FEATURE_MISSING_SHMEM = 1 << 5;
	public const ulong UFFD_FEATURE_EVENT_UNMAP = 1 << 6;
	public const ulong UFFD_FEATURE_SIGBUS = 1 << 7;
	public const ulong UFFD_FEATURE_THREAD_ID = 1 << 8;
	public const ulong UFFD_FEATURE_MINOR_HUGETLBFS = 1 << 9;
	public const ulong UFFD_FEATURE_MINOR_SHMEM = 1 << 10;
	public const ulong UFFD_FEATURE_EXACT_ADDRESS = 1 << 11;
	public const ulong UFFD_FEATURE_WP_HUGETLBFS_SHMEM = 1 << 12;
	public const ulong UFFD_FEATURE_WP_UNPOPULATED = 1 << 13;
	public const ulong UFFD_FEATURE_POISON = 1 << 14;
	public const ulong UFFD_FEATURE_WP_ASYNC = 1 << 15;
	public const ulong UFFD_FEATURE_MOVE = 1 << 16;

	public const ulong UFFDIO_REGISTER_MODE_MISSING = 1 << 0;
	public const ulong UFFDIO_REGISTER_MODE_WP = 1 << 1;
	public const ulong UFFDIO_REGISTER_MODE_MINOR = 1 << 2;

	public const ulong UFFDIO_COPY_MODE_DONTWAKE = 1 << 0;
	public const ulong UFFDIO_COPY_MODE_WP = 1 << 1;
	public const ulong UFFDIO_ZEROPAGE_MODE_DONTWAKE = 1 << 0;
	public const ulong UFFDIO_WRITEPROTECT_MODE_WP = 1 << 0;
	public const ulong UFFDIO_WRITEPROTECT_MODE_DONTWAKE = 1 << 1;
	public const ulong UFFDIO_POISON_MODE_DONTWAKE = 1 << 0;

	// _IOC(dir, type, nr, size) = dir<<30 | size<<16 | type<<8 | nr
	const uint IOC_WRITE = 1, IOC_READ = 2;
	static uint Ioc(uint dir, uint nr, int size) => dir << 30 | (uint)size << 16 | 0xAAu << 8 | nr;

	public static readonly uint UFFDIO_API = Ioc(IOC_READ | IOC_WRITE, 0x3F, Marshal.SizeOf<uffdio_api>());
	public static readonly uint UFFDIO_REGISTER = Ioc(IOC_READ | IOC_WRITE, 0x00, Marshal.SizeOf<uffdio_register>());
	public static readonly uint UFFDIO_UNREGISTER = Ioc(IOC_READ, 0x01, Marshal.SizeOf<uffdio_range>());
	public static readonly uint UFFDIO_WAKE = Ioc(IOC_READ, 0x02, Marshal.SizeOf<uffdio_range>());
	public static readonly uint UFFDIO_COPY = Ioc(IOC_READ | IOC_WRITE, 0x03, Marshal.SizeOf<uffdio_copy>());
	public static readonly uint UFFDIO_ZEROPAGE = Ioc(IOC_READ | IOC_WRITE, 0x04, Marshal.SizeOf<uffdio_zeropage>());
	public static readonly uint UFFDIO_WRITEPROTECT = Ioc(IOC_READ | IOC_WRITE, 0x06, Marshal.SizeOf<uffdio_writeprotect>());
	public static readonly uint UFFDIO_POISON = Ioc(IOC_READ | IOC_WRITE, 0x08, Marshal.SizeOf<uffdio_poison>());
	/// USERFAULTFD_IOC_NEW on /dev/userfaultfd: _IO(0xAA, 0x00).
	public static readonly uint USERFAULTFD_IOC_NEW = Ioc(0, 0x00, 0);

	/// __NR_userfaultfd for the architectures .NET runs on.
	public static int SyscallNumber => RuntimeInformation.ProcessArchitecture switch
	{
		Architecture.X64 => 323,
		Architecture.Arm64 => 282,
		Architecture.Arm => 388,
		var a => throw new PlatformNotSupportedException($"userfaultfd: no syscall number known for {a}"),
	};

	/// Feature names, for telling a user what the kernel lacks.
	public static readonly (ulong Bit, string Name)[] FeatureNames =
	[
		(UFFD_FEATURE_PAGEFAULT_FLAG_WP, "PAGEFAULT_FLAG_WP"),
		(UFFD_FEATURE_EVENT_FORK, "EVENT_FORK"),
		(UFFD_FEATURE_EVENT_REMAP, "EVENT_REMAP"),
		(UFFD_FEATURE_EVENT_REMOVE, "EVENT_REMOVE"),
		(UFFD_FEATURE_MISSING_HUGETLBFS, "MISSING_HUGETLBFS"),
		(UFFD_FEATURE_MISSING_SHMEM, "MISSING_SHMEM"),
		(UFFD_FEATURE_EVENT_UNMAP, "EVENT_UNMAP"),
		(UFFD_FEATURE_SIGBUS, "SIGBUS"),
		(UFFD_FEATURE_THREAD_ID, "THREAD_ID"),
		(UFFD_FEATURE_MINOR_HUGETLBFS, "MINOR_HUGETLBFS"),
		(UFFD_FEATURE_MINOR_SHMEM, "MINOR_SHMEM"),
		(UFFD_FEATURE_EXACT_ADDRESS, "EXACT_ADDRESS"),
		(UFFD_FEATURE_WP_HUGETLBFS_SHMEM, "WP_HUGETLBFS_SHMEM"),
		(UFFD_FEATURE_WP_UNPOPULATED, "WP_UNPOPULATED"),
		(UFFD_FEATURE_POISON, "POISON"),
		(UFFD_FEATURE_WP_ASYNC, "WP_ASYNC"),
		(UFFD_FEATURE_MOVE, "MOVE"),
	];

	public static string Names(ulong features) =>
		string.Join(",", FeatureNames.Where(f => (features & f.Bit) != 0).Select(f => f.Name));
}
