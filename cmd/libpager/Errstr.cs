using System.Runtime.InteropServices;
using System.Text;

namespace Pager.Cmd;

/// The calling thread's last error, as errstr(2) keeps it: a string in
/// memory of the library's own, valid until the thread's next failure.
static unsafe class Errstr
{
	[ThreadStatic] static byte* buf;
	[ThreadStatic] static int cap;
	static readonly byte* empty = (byte*)NativeMemory.AllocZeroed(1);

	public static byte* Get() => buf != null ? buf : empty;

	/// Records msg as the thread's error and returns -1, the failure
	/// every function but pager_attach returns.
	public static int Set(string msg)
	{
		int n = Encoding.UTF8.GetByteCount(msg);
		if (n + 1 > cap)
		{
			buf = (byte*)NativeMemory.Realloc(buf, (nuint)(n + 1));
			cap = n + 1;
		}
		Encoding.UTF8.GetBytes(msg, new Span<byte>(buf, n));
		buf[n] = 0;
		return -1;
	}
}
