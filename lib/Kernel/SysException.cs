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
