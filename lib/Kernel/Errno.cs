namespace Pager.Kernel;

/// errno values the toolkit tests for by name (asm-generic/errno-base.h, errno.h).
public static class Errno
{
	public const int EPERM = 1;
	public const int ENOENT = 2;
	public const int ESRCH = 3;
	public const int EINTR = 4;
	public const int ENXIO = 6;
	public const int EBADF = 9;
	public const int EAGAIN = 11;
	public const int ENOMEM = 12;
	public const int EACCES = 13;
	public const int EFAULT = 14;
	public const int EEXIST = 17;
	public const int ENODEV = 19;
	public const int EINVAL = 22;
	public const int EPIPE = 32;
	public const int ENOSYS = 38;
	public const int ECONNREFUSED = 111;
}
