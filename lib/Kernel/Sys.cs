using System.Runtime.InteropServices;
using Tmds.Linux;

namespace Pager.Kernel;

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
