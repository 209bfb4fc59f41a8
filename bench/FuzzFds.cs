using Pager.Kernel;
using Tmds.Linux;

namespace Pager.Bench;

/// Descriptors of every kind a hostile client might send where pagerd
/// wants a userfaultfd. Each is the caller's to close.
static unsafe class FuzzFds
{
	public static readonly string[] Kinds =
		["pipe", "eventfd", "memfd", "devnull", "socket", "epoll", "uffd-no-api", "uffd", "uffd-events", "dir"];

	/// The kinds that are not a userfaultfd pagerd can use.
	public static readonly string[] NotUffd = ["pipe", "eventfd", "memfd", "devnull", "socket", "epoll", "uffd-no-api", "dir"];

	public static int Make(string kind)
	{
		switch (kind)
		{
		case "pipe":
			int* p = stackalloc int[2];
			Kernel.Sys.Check(LibC.pipe2(p, LibC.O_CLOEXEC), "pipe2");
			LibC.close(p[1]);
			return p[0];
		case "eventfd": return Kernel.Sys.Check(LibC.eventfd(0, LibC.EFD_CLOEXEC), "eventfd");
		case "memfd": return Posix.MemfdCreate("not a userfaultfd");
		case "devnull": return Posix.Open("/dev/null", Posix.O_RDWR);
		case "socket":
			int* s = stackalloc int[2];
			Kernel.Sys.Check(LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0, s), "socketpair");
			LibC.close(s[1]);
			return s[0];
		case "epoll": return Kernel.Sys.Check(LibC.epoll_create1(LibC.EPOLL_CLOEXEC), "epoll_create1");
		case "dir": return Posix.Open("/", Posix.O_RDONLY);
		// A userfaultfd before its API handshake: every ioctl but UFFDIO_API fails.
		case "uffd-no-api": return Kernel.Sys.Check((int)LibC.syscall(Uffd.SyscallNumber, LibC.O_CLOEXEC | LibC.O_NONBLOCK), "userfaultfd");
		// One asking for events a pager has no use for (not SIGBUS, which
		// would make this process's own faults fatal).
		case "uffd-events":
			return Take(Userfaultfd.Create(Uffd.UFFD_FEATURE_MISSING_SHMEM,
				Uffd.UFFD_FEATURE_EVENT_REMAP | Uffd.UFFD_FEATURE_EVENT_REMOVE | Uffd.UFFD_FEATURE_EVENT_UNMAP));
		default: return Take(Userfaultfd.Create(Uffd.UFFD_FEATURE_MISSING_SHMEM));
		}
	}

	/// The descriptor of u, no longer u's to close.
	static int Take(Userfaultfd u) => LibC.dup(u.Fd) is var fd and >= 0 ? Dispose(u, fd) : throw new SysException("dup", Kernel.Sys.Errno);

	static int Dispose(Userfaultfd u, int fd)
	{
		u.Dispose();
		return fd;
	}
}
