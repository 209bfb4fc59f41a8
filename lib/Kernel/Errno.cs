using Tmds.Linux;

namespace Pager.Kernel;

/// The errno values the toolkit tests for by name, as Tmds.LibC defines
/// them, so that code outside this layer need not reach into LibC.
public static class Errno
{
	public static readonly int EPERM = LibC.EPERM, ENOENT = LibC.ENOENT, ESRCH = LibC.ESRCH, EINTR = LibC.EINTR;
	public static readonly int EIO = LibC.EIO, ENXIO = LibC.ENXIO, EBADF = LibC.EBADF, EAGAIN = LibC.EAGAIN;
	public static readonly int ENOMEM = LibC.ENOMEM, EACCES = LibC.EACCES, EFAULT = LibC.EFAULT, EEXIST = LibC.EEXIST;
	public static readonly int ENODEV = LibC.ENODEV, EINVAL = LibC.EINVAL, EMFILE = LibC.EMFILE, EPIPE = LibC.EPIPE;
	public static readonly int ENOSYS = LibC.ENOSYS, EPROTO = LibC.EPROTO, ECONNRESET = LibC.ECONNRESET;
	public static readonly int ECONNREFUSED = LibC.ECONNREFUSED, ETIMEDOUT = LibC.ETIMEDOUT;
	public static readonly int EFBIG = LibC.EFBIG, EROFS = LibC.EROFS, ENOTDIR = LibC.ENOTDIR, EISDIR = LibC.EISDIR;
	public static readonly int ENOTCONN = LibC.ENOTCONN, ELOOP = LibC.ELOOP, EDEADLK = LibC.EDEADLK;
}
