using System.Runtime.InteropServices;
using Pager.Client;

namespace Pager.Cmd;

/// libpager's C functions, declared in pager.h and described in pager(3):
/// each is a thin call into Pager.Client. No exception leaves them; a
/// failure is the return value and the thread's pager_errstr.
static unsafe class Exports
{
	const int ReadOnly = 0, ReadWrite = 1;

	static readonly Dictionary<nint, Attached> maps = [];

	[UnmanagedCallersOnly(EntryPoint = "pager_attach")]
	static void* Attach(byte* name, int mode, void* addr, nuint* size)
	{
		string n = name == null ? "" : Marshal.PtrToStringUTF8((nint)name) ?? "";
		try
		{
			if (mode != ReadOnly && mode != ReadWrite)
				throw new PagerException($"bad mode {mode} (want PAGER_RO or PAGER_RW)");
			var m = Mapping.Attach(n, new AttachOptions { ReadOnly = mode == ReadOnly, Address = (ulong)addr });
			lock (maps)
				maps[(nint)m.Pointer] = new Attached(m);
			if (size != null)
				*size = (nuint)m.Size;
			return m.Pointer;
		}
		catch (Exception e)
		{
			Errstr.Set(e.Message.StartsWith($"attach {n}") ? e.Message : $"attach {n}: {e.Message}");
			return null;
		}
	}

	[UnmanagedCallersOnly(EntryPoint = "pager_sync")]
	static int Sync(void* @base)
	{
		try
		{
			var m = Find(@base, "sync").Map;
			try
			{
				m.Sync();
				return 0;
			}
			catch (SyncException e)
			{
				// The ranges one a line, as the sync verb answers them.
				return Errstr.Set($"sync {m.Name}: {e.Failures.Count} ranges not written back\n{string.Join('\n', e.Failures)}");
			}
		}
		catch (Exception e)
		{
			return Errstr.Set(e.Message);
		}
	}

	[UnmanagedCallersOnly(EntryPoint = "pager_notify")]
	static int Notify(void* @base, delegate* unmanaged<nint, byte*, void> fn, nint arg)
	{
		try
		{
			Find(@base, "notify").Notify(fn, arg);
			return 0;
		}
		catch (Exception e)
		{
			return Errstr.Set(e.Message);
		}
	}

	[UnmanagedCallersOnly(EntryPoint = "pager_detach")]
	static int Detach(void* @base)
	{
		try
		{
			var a = Find(@base, "detach");
			lock (maps)
				maps.Remove((nint)@base);
			a.Detach();
			return 0;
		}
		catch (Exception e)
		{
			return Errstr.Set(e.Message);
		}
	}

	[UnmanagedCallersOnly(EntryPoint = "pager_errstr")]
	static byte* Error() => Errstr.Get();

	static Attached Find(void* @base, string call)
	{
		lock (maps)
			return maps.TryGetValue((nint)@base, out var a) ? a
				: throw new PagerException($"{call} 0x{(ulong)@base:x}: no map is attached there");
	}
}
