using System.Runtime.InteropServices;

namespace Pager.Kernel;

// libfuse3's low-level API (Debian's libfuse3-3, FUSE_USE_VERSION 35),
// declared once, with the names of fuse_lowlevel.h and fuse_common.h.
// Only the fields pagerd uses are named; the layouts are checked against
// the headers by a test that compiles C (FuseAbiTests).

/// struct fuse_lowlevel_ops: one function pointer an operation, in the
/// header's order. An operation left null is answered ENOSYS by libfuse.
[StructLayout(LayoutKind.Sequential)]
public unsafe struct fuse_lowlevel_ops
{
	public nint init, destroy, lookup, forget, getattr, setattr, readlink, mknod, mkdir, unlink, rmdir;
	public nint symlink, rename, link, open, read, write, flush, release, fsync, opendir, readdir;
	public nint releasedir, fsyncdir, statfs, setxattr, getxattr, listxattr, removexattr, access;
	public nint create, getlk, setlk, bmap, ioctl, poll, write_buf, retrieve_reply, forget_multi;
	public nint flock, fallocate, readdirplus, copy_file_range, lseek;
}

[StructLayout(LayoutKind.Sequential)]
public struct fuse_file_info
{
	public int flags;
	/// writepage:1, direct_io:1, keep_cache:1, flush:1, nonseekable:1, …
	public uint bits;
	uint padding2;
	public ulong fh;
	public ulong lock_owner;
	public uint poll_events;
}

/// struct stat, as x86_64's glibc lays it out.
[StructLayout(LayoutKind.Sequential)]
public struct fuse_stat
{
	public ulong st_dev, st_ino, st_nlink;
	public uint st_mode, st_uid, st_gid;
	int pad0;
	public ulong st_rdev;
	public long st_size, st_blksize, st_blocks;
	public long st_atime, st_atime_nsec, st_mtime, st_mtime_nsec, st_ctime, st_ctime_nsec;
	long reserved0, reserved1, reserved2;
}

[StructLayout(LayoutKind.Sequential)]
public struct fuse_entry_param
{
	public ulong ino;
	public ulong generation;
	public fuse_stat attr;
	public double attr_timeout;
	public double entry_timeout;
}

/// The start of struct fuse_conn_info: what init may change.
[StructLayout(LayoutKind.Sequential)]
public struct fuse_conn_info
{
	public uint proto_major, proto_minor, max_write, max_read, max_readahead, capable, want;
	public uint max_background, congestion_threshold, time_gran;
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct fuse_args
{
	public int argc;
	public byte** argv;
	public int allocated;
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct fuse_buf
{
	public nuint size;
	public int flags;
	public void* mem;
	public int fd;
	public long pos;
}

public static unsafe class FuseNative
{
	const string Lib = "libfuse3.so.3";

	/// Throws, naming the library, when libfuse3 cannot be loaded, rather
	/// than leaving the first call to fail.
	public static void Load()
	{
		if (!NativeLibrary.TryLoad(Lib, typeof(FuseNative).Assembly, null, out _))
			throw new SysException("dlopen", Errno.ENOENT, $"{Lib} (is libfuse3-3 installed?)");
	}

	public const uint FUSE_CAP_AUTO_INVAL_DATA = 1 << 12;
	public const uint FUSE_CAP_WRITEBACK_CACHE = 1 << 16;
	public const int FUSE_SET_ATTR_SIZE = 1 << 3;

	[DllImport(Lib)] public static extern nint fuse_session_new(fuse_args* args, fuse_lowlevel_ops* op, nuint op_size, void* userdata);
	[DllImport(Lib)] public static extern int fuse_session_mount(nint se, byte* mountpoint);
	[DllImport(Lib)] public static extern int fuse_session_fd(nint se);
	[DllImport(Lib)] public static extern int fuse_session_receive_buf(nint se, fuse_buf* buf);
	[DllImport(Lib)] public static extern void fuse_session_process_buf(nint se, fuse_buf* buf);
	[DllImport(Lib)] public static extern void fuse_session_unmount(nint se);
	[DllImport(Lib)] public static extern void fuse_session_destroy(nint se);
	[DllImport(Lib)] public static extern void* fuse_req_userdata(nint req);
	[DllImport(Lib)] public static extern int fuse_reply_err(nint req, int err);
	[DllImport(Lib)] public static extern void fuse_reply_none(nint req);
	[DllImport(Lib)] public static extern int fuse_reply_entry(nint req, fuse_entry_param* e);
	[DllImport(Lib)] public static extern int fuse_reply_attr(nint req, fuse_stat* attr, double attr_timeout);
	[DllImport(Lib)] public static extern int fuse_reply_open(nint req, fuse_file_info* fi);
	[DllImport(Lib)] public static extern int fuse_reply_write(nint req, nuint count);
	[DllImport(Lib)] public static extern int fuse_reply_buf(nint req, byte* buf, nuint size);
	[DllImport(Lib)] public static extern nuint fuse_add_direntry(nint req, byte* buf, nuint bufsize, byte* name, fuse_stat* stbuf, long off);
	[DllImport(Lib)] public static extern int fuse_lowlevel_notify_inval_inode(nint se, ulong ino, long off, long len);
	[DllImport(Lib)] public static extern int fuse_lowlevel_notify_inval_entry(nint se, ulong parent, byte* name, nuint namelen);
}
