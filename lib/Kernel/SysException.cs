using System.Runtime.InteropServices;
using Tmds.Linux;

namespace Pager.Kernel;

/// A failed system call: the call, the path or object it was about, and errno.
public sealed class SysException : IOException
{
	public int Errno { get; }
	public string Call { get; }

	public SysException(string call, int errno, string? what = null)
		: base(what is null ? $"{call}: {Sys.StrError(errno)}" : $"{call} {what}: {Sys.StrError(errno)}")
	{
		Call = call;
		Errno = errno;
	}
}

/// The one place where errno becomes an exception.
public static class Sys
{
	public static int Check(int rc, string call, string? what = null)
	{
		if (rc < 0)
			throw new SysException(call, LibC.errno, what);
		return rc;
	}

	public static long Check(long rc, string call, string? what = null)
	{
		if (rc < 0)
			throw new SysException(call, LibC.errno, what);
		return rc;
	}

	// Tmds.LibC reads errno through __errno_location, so it must be read
	// straight after the call that set it.
	public static int Errno => LibC.errno;

	public static string StrError(int errno) => Marshal.GetPInvokeErrorMessage(errno);
}
