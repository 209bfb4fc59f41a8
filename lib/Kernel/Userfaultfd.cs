using Tmds.Linux;
using static Pager.Kernel.Uffd;

namespace Pager.Kernel;

/// A userfaultfd: created here with the features the toolkit asks for,
/// or adopted from a descriptor another process sent.
public sealed unsafe class Userfaultfd : IDisposable
{
	public int Fd { get; private set; }
	public ulong Features { get; }
	/// True when only user-mode faults reach this descriptor (no privilege
	/// for kernel-mode ones): a read(2) into the range then fails with EFAULT.
	public bool UserModeOnly { get; }

	Userfaultfd(int fd, ulong features, bool userModeOnly)
	{
		Fd = fd;
		Features = features;
		UserModeOnly = userModeOnly;
	}

	/// Adopts a descriptor whose API handshake its creator already did.
	public static Userfaultfd Adopt(int fd) => new(fd, 0, false);

	/// Creates a userfaultfd and negotiates features: every bit of
	/// required must be there, the bits of wanted are taken where offered.
	public static Userfaultfd Create(ulong required, ulong wanted = 0)
	{
		var (fd, way) = OpenFd();
		try
		{
			ulong offered = Offered(way);
			if ((required & ~offered) != 0)
				throw new NotSupportedException(
					$"userfaultfd: the kernel lacks {Names(required & ~offered)}");
			var api = new uffdio_api { api = UFFD_API, features = (required | wanted) & offered };
			Sys.Check(LibC.ioctl(fd, (int)UFFDIO_API, &api), "ioctl UFFDIO_API");
			return new Userfaultfd(fd, (required | wanted) & offered, way == Way.UserOnly);
		}
		catch
		{
			LibC.close(fd);
			throw;
		}
	}

	/// The ways in, in the order tried: the system call, which needs the
	/// privilege (or vm.unprivileged_userfaultfd=1); the device, for a user
	/// given access to it; the system call for user-mode faults only.
	enum Way { Syscall, Device, UserOnly }

	static (int Fd, Way Way) OpenFd()
	{
		int flags = Posix.O_CLOEXEC | Posix.O_NONBLOCK;
		foreach (var way in new[] { Way.Syscall, Way.Device, Way.UserOnly })
		{
			int fd = Open(way, flags);
			if (fd >= 0)
				return (fd, way);
			if (way == Way.Syscall && Sys.Errno != Errno.EPERM)
				throw new SysException("userfaultfd", Sys.Errno);
		}
		throw new SysException("userfaultfd", Sys.Errno,
			"(set the sysctl vm.unprivileged_userfaultfd=1, or give this user read-write access to /dev/userfaultfd)");
	}

	static int Open(Way way, int flags)
	{
		if (way != Way.Device)
			return (int)LibC.syscall(SyscallNumber, flags | (way == Way.UserOnly ? UFFD_USER_MODE_ONLY : 0));
		int dev = Posix.TryOpen("/dev/userfaultfd", LibC.O_RDWR | Posix.O_CLOEXEC);
		if (dev < 0)
			return -1;
		int fd = LibC.ioctl(dev, (int)USERFAULTFD_IOC_NEW, flags);
		LibC.close(dev);
		return fd;
	}

	/// The features the kernel offers, asked of a throwaway descriptor
	/// opened the same way (UFFDIO_API succeeds only once per descriptor):
	/// a user whose only way in is the device gets EPERM from the call.
	static ulong Offered(Way way)
	{
		int fd = Open(way, Posix.O_CLOEXEC);
		if (fd < 0)
			return 0;
		var api = new uffdio_api { api = UFFD_API };
		int rc = LibC.ioctl(fd, (int)UFFDIO_API, &api);
		LibC.close(fd);
		return rc < 0 ? 0 : api.features;
	}

	public ulong Register(ulong start, ulong len, ulong mode)
	{
		var r = new uffdio_register { range = new() { start = start, len = len }, mode = mode };
		Check(LibC.ioctl(Fd, (int)UFFDIO_REGISTER, &r), "ioctl UFFDIO_REGISTER", start, len);
		return r.ioctls;
	}

	public void Unregister(ulong start, ulong len)
	{
		var r = new uffdio_range { start = start, len = len };
		Check(LibC.ioctl(Fd, (int)UFFDIO_UNREGISTER, &r), "ioctl UFFDIO_UNREGISTER", start, len);
	}

	/// Copies len bytes to dst atomically, page by page. Returns the bytes
	/// copied; pages that already exist count as copied (another filler won).
	public ulong Copy(ulong dst, ulong src, ulong len, ulong mode = 0)
	{
		ulong done = 0;
		while (done < len)
		{
			var c = new uffdio_copy { dst = dst + done, src = src + done, len = len - done, mode = mode };
			int rc = LibC.ioctl(Fd, (int)UFFDIO_COPY, &c);
			int err = rc < 0 ? Sys.Errno : 0;
			if (c.copy > 0)
				done += (ulong)c.copy;
			if (rc >= 0)
				continue;
			if (err == Errno.EEXIST)
			{
				// The first page left already exists: step over it.
				done += Page;
				if ((mode & UFFDIO_COPY_MODE_DONTWAKE) == 0)
					Wake(dst + done - Page, Page);
				continue;
			}
			if (err == Errno.EAGAIN)
				continue; // the address space changed under us; try again
			throw new SysException("ioctl UFFDIO_COPY", err, Range(dst + done, len - done));
		}
		return done;
	}

	public void ZeroPage(ulong start, ulong len, ulong mode = 0)
	{
		var z = new uffdio_zeropage { range = new() { start = start, len = len }, mode = mode };
		int rc = LibC.ioctl(Fd, (int)UFFDIO_ZEROPAGE, &z);
		if (rc < 0 && Sys.Errno != Errno.EEXIST)
			throw new SysException("ioctl UFFDIO_ZEROPAGE", Sys.Errno, Range(start, len));
	}

	public void WriteProtect(ulong start, ulong len, bool protect, bool wake = true)
	{
		var w = new uffdio_writeprotect
		{
			range = new() { start = start, len = len },
			mode = (protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0) | (wake ? 0 : UFFDIO_WRITEPROTECT_MODE_DONTWAKE),
		};
		Check(LibC.ioctl(Fd, (int)UFFDIO_WRITEPROTECT, &w), "ioctl UFFDIO_WRITEPROTECT", start, len);
	}

	public void Wake(ulong start, ulong len)
	{
		var r = new uffdio_range { start = start, len = len };
		Check(LibC.ioctl(Fd, (int)UFFDIO_WAKE, &r), "ioctl UFFDIO_WAKE", start, len);
	}

	/// Marks missing pages poisoned, so touching them raises SIGBUS.
	/// Pages that exist are left alone.
	public void Poison(ulong start, ulong len)
	{
		ulong done = 0;
		while (done < len)
		{
			var p = new uffdio_poison { range = new() { start = start + done, len = len - done } };
			int rc = LibC.ioctl(Fd, (int)UFFDIO_POISON, &p);
			int err = rc < 0 ? Sys.Errno : 0;
			if (p.updated > 0)
				done += (ulong)p.updated;
			if (rc >= 0)
				continue;
			if (err == Errno.EEXIST)
				done += Page;
			else if (err != Errno.EAGAIN)
				throw new SysException("ioctl UFFDIO_POISON", err, Range(start + done, len - done));
		}
		Wake(start, len);
	}

	/// Reads as many events as are queued and fit; 0 when none are.
	public int Read(Span<uffd_msg> events)
	{
		fixed (uffd_msg* p = events)
		{
			long n = LibC.read(Fd, p, events.Length * sizeof(uffd_msg));
			if (n < 0)
			{
				int err = Sys.Errno;
				if (err == Errno.EAGAIN || err == Errno.EINTR)
					return 0;
				throw new SysException("read userfaultfd", err);
			}
			return (int)(n / sizeof(uffd_msg));
		}
	}

	public void Dispose()
	{
		if (Fd >= 0)
			LibC.close(Fd);
		Fd = -1;
	}

	public const ulong Page = 4096;

	static string Range(ulong start, ulong len) => $"0x{start:x}+0x{len:x}";

	/// Sys.Check with the range in the message, formatted only on failure:
	/// these calls are on the fault path.
	static void Check(int rc, string call, ulong start, ulong len)
	{
		if (rc < 0)
			throw new SysException(call, Sys.Errno, Range(start, len));
	}
}
