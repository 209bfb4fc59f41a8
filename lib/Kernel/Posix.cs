using System.Text;
using Tmds.Linux;

namespace Pager.Kernel;

/// Thin, string-friendly wrappers over the libc calls the toolkit uses.
/// Every failure becomes a SysException naming the call and the path.
public static unsafe class Posix
{
	// Tmds.LibC's names for the flags the toolkit passes, so that code
	// outside this layer need not reach into LibC.
	public static readonly int O_RDONLY = LibC.O_RDONLY, O_WRONLY = LibC.O_WRONLY, O_RDWR = LibC.O_RDWR;
	public static readonly int O_NONBLOCK = LibC.O_NONBLOCK, O_CLOEXEC = LibC.O_CLOEXEC;
	public static readonly int O_CREAT = LibC.O_CREAT, O_TRUNC = LibC.O_TRUNC;
	public static readonly int MADV_DONTFORK = LibC.MADV_DONTFORK;
	public static readonly int SIGINT = LibC.SIGINT, SIGKILL = LibC.SIGKILL, SIGBUS = LibC.SIGBUS, SIGTERM = LibC.SIGTERM;

	public static byte[] Z(string s) => Encoding.UTF8.GetBytes(s + "\0");

	public static int Open(string path, int flags, int mode = 0)
	{
		fixed (byte* p = Z(path))
			return Sys.Check(LibC.open(p, flags | O_CLOEXEC, (mode_t)(uint)mode), "open", path);
	}

	/// Opens a regular file, never waiting (a FIFO in its place would wait
	/// for a writer); anything but a regular file is refused.
	public static int OpenRegular(string path, int flags)
	{
		int fd = Open(path, flags | O_NONBLOCK);
		if (!Fstat(fd, path).IsRegular)
		{
			Close(fd);
			throw new SysException("open", Errno.EINVAL, $"{path} (not a regular file)");
		}
		return fd;
	}

	/// open(2) that reports failure as -errno instead of throwing.
	public static int TryOpen(string path, int flags, int mode = 0)
	{
		fixed (byte* p = Z(path))
		{
			int fd = LibC.open(p, flags | O_CLOEXEC, (mode_t)(uint)mode);
			return fd >= 0 ? fd : -Sys.Errno;
		}
	}

	public static void Close(int fd)
	{
		if (fd >= 0)
			LibC.close(fd);
	}

	/// read(2): bytes read, 0 at end of file, -1 when it would block.
	public static int Read(int fd, Span<byte> buf, string what)
	{
		fixed (byte* p = buf)
			for (;;)
				if (Done(LibC.read(fd, p, buf.Length), "read", what, out int n))
					return n;
	}

	/// write(2): bytes written, -1 when it would block.
	public static int Write(int fd, ReadOnlySpan<byte> buf, string what)
	{
		fixed (byte* p = buf)
			for (;;)
				if (Done(LibC.write(fd, p, buf.Length), "write", what, out int n))
					return n;
	}

	/// Whether a read or write is over, with n its count, or -1 when it
	/// would block; after EINTR it is not, and goes again.
	static bool Done(long rc, string call, string what, out int n)
	{
		n = (int)rc;
		if (rc >= 0)
			return true;
		int err = Sys.Errno;
		n = -1;
		if (err == Errno.EAGAIN)
			return true;
		if (err == Errno.EINTR)
			return false;
		throw new SysException(call, err, what);
	}

	/// Writes all of buf to a blocking descriptor.
	public static void WriteAll(int fd, ReadOnlySpan<byte> buf, string what)
	{
		while (buf.Length > 0)
		{
			int n = Write(fd, buf, what);
			if (n < 0)
				throw new SysException("write", Errno.EAGAIN, what);
			buf = buf[n..];
		}
	}

	/// pread(2) until len bytes or end of file; returns the bytes read.
	public static int PRead(int fd, Span<byte> buf, long off, string what)
	{
		int done = 0;
		fixed (byte* p = buf)
			while (done < buf.Length)
			{
				long n = LibC.pread(fd, p + done, buf.Length - done, off + done);
				if (n == 0)
					break;
				if (n < 0)
				{
					if (Sys.Errno == Errno.EINTR)
						continue;
					throw new SysException("pread", Sys.Errno, what);
				}
				done += (int)n;
			}
		return done;
	}

	[System.Runtime.InteropServices.DllImport("libc", SetLastError = false)]
	static extern long preadv2(int fd, iovec* iov, int iovcnt, long offset, int flags);
	const int RWF_NOWAIT = 0x8;

	/// preadv2(2) with RWF_NOWAIT: all of buf from the page cache, or
	/// false, having waited for nothing, when some of it is not there
	/// (or is past the end of the file, which this cannot tell apart).
	public static bool PReadNow(int fd, Span<byte> buf, long off)
	{
		fixed (byte* p = buf)
		{
			var v = new iovec { iov_base = p, iov_len = (size_t)(ulong)buf.Length };
			return preadv2(fd, &v, 1, off, RWF_NOWAIT) == buf.Length;
		}
	}

	public static void PWrite(int fd, ReadOnlySpan<byte> buf, long off, string what)
	{
		fixed (byte* p = buf)
			for (int done = 0; done < buf.Length;)
			{
				long n = LibC.pwrite(fd, p + done, buf.Length - done, off + done);
				if (n < 0 && Sys.Errno == Errno.EINTR)
					continue;
				Sys.Check(n, "pwrite", what);
				done += (int)n;
			}
	}

	public static void SetNonblock(int fd, bool on)
	{
		int fl = Sys.Check(LibC.fcntl(fd, LibC.F_GETFL), "fcntl F_GETFL");
		fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
		Sys.Check(LibC.fcntl(fd, LibC.F_SETFL, fl), "fcntl F_SETFL");
	}

	/// Marks fd close-on-exec, so no program pagerd starts holds it.
	public static void SetCloexec(int fd) =>
		Sys.Check(LibC.fcntl(fd, LibC.F_SETFD, LibC.FD_CLOEXEC), "fcntl F_SETFD");

	/// Marks every descriptor from first on close-on-exec
	/// (close_range(2), CLOSE_RANGE_CLOEXEC): a program started next
	/// inherits only standard input, output and error. The .NET runtime
	/// keeps copies of standard output that a long-lived child would hold
	/// open, so whoever reads pagerd's output would never see it end.
	public static void CloseOnExecFrom(int first) =>
		Sys.Check(close_range((uint)first, uint.MaxValue, CLOSE_RANGE_CLOEXEC), "close_range");

	const int CLOSE_RANGE_CLOEXEC = 1 << 2;

	[System.Runtime.InteropServices.DllImport("libc", SetLastError = false)]
	static extern int close_range(uint first, uint last, int flags);

	/// mkfifo(2), always a new FIFO: one left there (by a pagerd that
	/// died) is replaced by rename(2), so bytes left in it are never read
	/// as the new stream's, and whoever still holds the old one sees it
	/// end. Anything there but a FIFO of this user's is refused.
	public static void Mkfifo(string path, int mode)
	{
		var tmp = path + ".new";
		Unlink(tmp);
		fixed (byte* p = Z(tmp))
			if (LibC.mkfifo(p, (mode_t)(uint)mode) < 0)
				throw new SysException("mkfifo", Sys.Errno, tmp);
		Chmod(tmp, mode);
		if (TryLstat(path) is { } st && (!st.IsFifo || st.Uid != Geteuid()))
		{
			Unlink(tmp);
			throw new SysException("mkfifo", Errno.EEXIST, $"{path} (there already, and not a FIFO of this user's)");
		}
		Rename(tmp, path);
	}

	/// rename(2).
	public static void Rename(string from, string to)
	{
		fixed (byte* f = Z(from))
		fixed (byte* t = Z(to))
			if (rename(f, t) < 0)
				throw new SysException("rename", Sys.Errno, $"{from} to {to}");
	}

	[System.Runtime.InteropServices.DllImport("libc", SetLastError = false)]
	static extern int rename(byte* from, byte* to);

	public static void Mkdir(string path, int mode)
	{
		fixed (byte* p = Z(path))
			if (LibC.mkdir(p, (mode_t)(uint)mode) < 0 && Sys.Errno != Errno.EEXIST)
				throw new SysException("mkdir", Sys.Errno, path);
	}

	/// rmdir(2), for a directory that may not be there or not be empty.
	public static void Rmdir(string path)
	{
		fixed (byte* p = Z(path))
			LibC.rmdir(p);
	}

	/// umount2(2) with MNT_DETACH: gone from the tree now, and from the
	/// kernel once nothing uses it.
	public static void UmountDetach(string path)
	{
		fixed (byte* p = Z(path))
			Sys.Check(LibC.umount2(p, 2), "umount2", path);
	}

	public static void Chmod(string path, int mode)
	{
		fixed (byte* p = Z(path))
			Sys.Check(LibC.chmod(p, (mode_t)(uint)mode), "chmod", path);
	}

	public static void Unlink(string path)
	{
		fixed (byte* p = Z(path))
			LibC.unlink(p);
	}

	public static int MemfdCreate(string name, bool huge = false)
	{
		fixed (byte* p = Z(name))
			return Sys.Check(LibC.memfd_create(p, LibC.MFD_CLOEXEC | (huge ? MFD_HUGETLB : 0)), "memfd_create", name);
	}

	/// memfd_create's flag for memory of huge pages (hugetlbfs), of the
	/// machine's default size, from the pool vm.nr_hugepages reserves.
	const uint MFD_HUGETLB = 4;

	public static void Ftruncate(int fd, long len, string what) =>
		Sys.Check(LibC.ftruncate(fd, len), "ftruncate", what);

	/// The pieces of fd from 0 to end that hold data (SEEK_DATA and
	/// SEEK_HOLE), as offset and length: a memfd's allocated pages.
	public static IEnumerable<(long Off, long Len)> DataRuns(int fd, long end, string what)
	{
		for (long at = 0; at < end;)
		{
			long a = LibC.lseek(fd, at, SEEK_DATA);
			if (a < 0)
			{
				if (Sys.Errno == Errno.ENXIO)
					yield break;
				throw new SysException("lseek SEEK_DATA", Sys.Errno, what);
			}
			long b = Sys.Check(LibC.lseek(fd, a, SEEK_HOLE), "lseek SEEK_HOLE", what);
			if (a >= end)
				yield break;
			yield return (a, Math.Min(b, end) - a);
			at = b;
		}
	}

	const int SEEK_DATA = 3, SEEK_HOLE = 4;

	public static void PunchHole(int fd, long off, long len, string what) =>
		Sys.Check(LibC.fallocate(fd, LibC.FALLOC_FL_PUNCH_HOLE | LibC.FALLOC_FL_KEEP_SIZE, off, len), "fallocate", what);

	/// mmap(2) of a shared file; addr 0 lets the kernel choose, any other
	/// address is taken only if free (MAP_FIXED_NOREPLACE).
	public static byte* MapShared(int fd, long len, bool write, ulong addr, string what)
	{
		int prot = LibC.PROT_READ | (write ? LibC.PROT_WRITE : 0);
		int flags = LibC.MAP_SHARED | (addr != 0 ? LibC.MAP_FIXED_NOREPLACE : 0);
		void* p = LibC.mmap((void*)addr, (size_t)(ulong)len, prot, flags, fd, 0);
		if (p == LibC.MAP_FAILED)
		{
			int err = Sys.Errno;
			if (err == Errno.EEXIST)
				throw new SysException("mmap", err, $"{what} at 0x{addr:x} (the address is taken)");
			throw new SysException("mmap", err, what);
		}
		if (addr != 0 && (ulong)p != addr)
		{
			// Kernels before 4.17 ignore MAP_FIXED_NOREPLACE.
			LibC.munmap(p, (size_t)(ulong)len);
			throw new SysException("mmap", Errno.EEXIST, $"{what} at 0x{addr:x} (the address is taken)");
		}
		return (byte*)p;
	}

	public static void Munmap(byte* p, long len) => LibC.munmap(p, (size_t)(ulong)len);

	public static void Madvise(byte* p, long len, int advice, string what) =>
		Sys.Check(LibC.madvise(p, (size_t)(ulong)len, advice), "madvise", what);

	/// Whether [p, p+len) can be mapped without a fault that fails:
	/// MADV_POPULATE_READ, which in a mapping registered with a
	/// userfaultfd of the SIGBUS feature fails (EFAULT) on a missing page.
	public static bool Populated(byte* p, long len, string what)
	{
		if (LibC.madvise(p, (size_t)(ulong)len, MADV_POPULATE_READ) == 0)
			return true;
		if (Sys.Errno == Errno.EFAULT)
			return false;
		throw new SysException("madvise MADV_POPULATE_READ", Sys.Errno, what);
	}

	const int MADV_POPULATE_READ = 22;

	public static void Fdatasync(int fd, string what) => Sys.Check(LibC.fdatasync(fd), "fdatasync", what);

	/// readlink(2): where a symbolic link (a /proc fd link, say) points.
	public static string Readlink(string path)
	{
		var buf = new byte[4096];
		fixed (byte* p = Z(path))
		fixed (byte* b = buf)
		{
			long n = Sys.Check((long)LibC.readlink(p, b, buf.Length), "readlink", path);
			return Encoding.UTF8.GetString(buf, 0, (int)n);
		}
	}

	/// What stat(2) says of a file: owner, permission bits, kind, size
	/// and inode number.
	public readonly record struct FileInfo(uint Uid, uint Mode, uint Kind, long Size, ulong Ino)
	{
		public bool IsDir => Kind == (uint)LibC.S_IFDIR;
		public bool IsLink => Kind == (uint)LibC.S_IFLNK;
		public bool IsFifo => Kind == (uint)LibC.S_IFIFO;
		public bool IsRegular => Kind == (uint)LibC.S_IFREG;

		internal static FileInfo Of(in stat st) =>
			new((uint)st.st_uid, (uint)st.st_mode & 0xfff, (uint)st.st_mode & (uint)LibC.S_IFMT, (long)st.st_size, (ulong)st.st_ino);
	}

	/// fstat(2) of fd.
	public static FileInfo Fstat(int fd, string what)
	{
		stat st;
		Sys.Check(LibC.fstat(fd, &st), "fstat", what);
		return FileInfo.Of(st);
	}

	/// lstat(2) of path, or null if there is nothing there.
	public static FileInfo? TryLstat(string path)
	{
		stat st;
		fixed (byte* p = Z(path))
			if (LibC.lstat(p, &st) < 0)
				return Sys.Errno == Errno.ENOENT ? null : throw new SysException("lstat", Sys.Errno, path);
		return FileInfo.Of(st);
	}

	/// lstat(2) of path: the link itself if it is one.
	public static FileInfo Lstat(string path)
	{
		stat st;
		fixed (byte* p = Z(path))
			Sys.Check(LibC.lstat(p, &st), "lstat", path);
		return FileInfo.Of(st);
	}

	public static uint Getuid() => LibC.getuid();
	/// How many descriptors the process has open.
	/// How many descriptors this process has open: the entries of
	/// /proc/self/fd, read with readdir(3) alone. (.NET's enumeration
	/// stats each one, a symbolic link, which made each `new` cost a
	/// stat for every descriptor: 18 ms a map with 200 maps.)
	public static long OpenDescriptors()
	{
		fixed (byte* p = Z("/proc/self/fd"))
		{
			void* d = opendir(p);
			if (d == null)
				throw new SysException("opendir", Sys.Errno, "/proc/self/fd");
			long n = 0;
			while (readdir(d) != null)
				n++;
			closedir(d);
			return n - 3; // ".", "..", and the directory's own descriptor
		}
	}

	[System.Runtime.InteropServices.DllImport("libc", SetLastError = false)]
	static extern void* opendir(byte* path);

	[System.Runtime.InteropServices.DllImport("libc", SetLastError = false)]
	static extern void* readdir(void* dir);

	[System.Runtime.InteropServices.DllImport("libc", SetLastError = false)]
	static extern int closedir(void* dir);

	/// The soft limit on open descriptors (RLIMIT_NOFILE), from /proc.
	public static long DescriptorLimit()
	{
		foreach (var l in File.ReadLines("/proc/self/limits"))
			if (l.StartsWith("Max open files", StringComparison.Ordinal))
				return long.TryParse(l["Max open files".Length..].Trim().Split(' ')[0], out long n) ? n : long.MaxValue;
		return long.MaxValue;
	}

	public static uint Geteuid() => LibC.geteuid();
	public static uint Getegid() => LibC.getegid();

	/// Leaves the caller's session and points the standard streams at
	/// /dev/null: what a daemon does once it is started.
	public static void Daemonize()
	{
		LibC.setsid();
		int devnull = Open("/dev/null", O_RDWR);
		for (int fd = 0; fd < 3; fd++)
			Sys.Check(LibC.dup2(devnull, fd), "dup2", "/dev/null");
		Close(devnull);
	}

	/// poll(2) for one descriptor: whether any of events came within ms.
	public static bool Poll(int fd, short events, int ms)
	{
		var p = new pollfd { fd = fd, events = events };
		int n = LibC.poll(&p, 1, ms);
		if (n < 0 && Sys.Errno != Errno.EINTR)
			throw new SysException("poll", Sys.Errno);
		return n > 0;
	}

	/// poll(2) for one descriptor: the events that came within ms, 0 if none.
	public static short PollEvents(int fd, short events, int ms)
	{
		var p = new pollfd { fd = fd, events = events };
		int n = LibC.poll(&p, 1, ms);
		if (n < 0 && Sys.Errno != Errno.EINTR)
			throw new SysException("poll", Sys.Errno);
		return n > 0 ? p.revents : (short)0;
	}

	public static readonly short POLLIN = LibC.POLLIN, POLLOUT = LibC.POLLOUT, POLLHUP = LibC.POLLHUP;

	/// dup2(2): makes to a copy of from, then closes from.
	public static void MoveFd(int from, int to, string what)
	{
		if (from == to)
			return;
		Sys.Check(LibC.dup2(from, to), "dup2", what);
		Close(from);
	}

	/// Copies n bytes with libc's memcpy: native code, so a thread that
	/// faults on a map in it does not hold up .NET's garbage collector.
	public static void Memcpy(byte* dst, byte* src, long n) => memcpy(dst, src, (nuint)n);

	[System.Runtime.InteropServices.DllImport("libc", EntryPoint = "memcpy")]
	static extern void* memcpy(void* dst, void* src, nuint n);

	public static void Kill(int pid, int sig) => LibC.kill(pid, sig);

}
