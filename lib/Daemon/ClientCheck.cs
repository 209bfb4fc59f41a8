using System.Globalization;
using Pager.Kernel;

namespace Pager.Daemon;

/// What pagerd checks of a client's `uffd` message before trusting it:
/// the descriptor is a userfaultfd; the base is where the client (the
/// socket peer) mapped this map's memfd, shared, from offset 0, for the
/// whole length. Then pagerd registers that range itself, with the modes
/// the attachment needs, and write-protects it if it is writable, so a
/// client that registered less, or without write-protect, cannot make
/// other clients see zeros or its writes go unrecorded.
static class ClientCheck
{
	public static void Verify(Userfaultfd uffd, int pid, ulong @base, Map m, bool readOnly)
	{
		var what = Posix.Readlink($"/proc/self/fd/{uffd.Fd}");
		if (what != "anon_inode:[userfaultfd]")
			throw new CtlException($"uffd: the descriptor is not a userfaultfd (it is {what})");
		ulong ino = Posix.Fstat(m.Memory.Memfd, $"map {m.Name}").Ino;
		if (!Mapped(pid, @base, (ulong)m.Length, ino, out var why))
			throw new CtlException($"uffd: base 0x{@base:x} is not map {m.Name} in process {pid}: {why}");
		try
		{
			uffd.Register(@base, (ulong)m.Length, Uffd.UFFDIO_REGISTER_MODE_MISSING | (readOnly ? 0 : Uffd.UFFDIO_REGISTER_MODE_WP));
			if (!readOnly)
				uffd.WriteProtect(@base, (ulong)m.Length, true);
		}
		catch (SysException e)
		{
			throw new CtlException($"uffd: cannot register map {m.Name} at 0x{@base:x} with the client's userfaultfd: {e.Message}");
		}
	}

	/// Whether [base, base+len) of process pid is a shared mapping of the
	/// file with inode ino, from its offset 0, in one or more pieces.
	static bool Mapped(int pid, ulong @base, ulong len, ulong ino, out string why)
	{
		string[] maps;
		try
		{
			maps = File.ReadAllLines($"/proc/{pid}/maps");
		}
		catch (IOException e)
		{
			why = e.Message;
			return false;
		}
		ulong at = @base, end = @base + len;
		foreach (var l in maps)
		{
			// start-end perms offset dev inode path
			var f = l.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
			var range = f[0].Split('-');
			ulong start = ulong.Parse(range[0], NumberStyles.HexNumber), stop = ulong.Parse(range[1], NumberStyles.HexNumber);
			if (stop <= at || start > at)
				continue;
			ulong off = ulong.Parse(f[2], NumberStyles.HexNumber);
			if (ulong.Parse(f[4]) != ino)
			{
				why = $"0x{at:x} maps {(f.Length > 5 ? f[5] : "anonymous memory")}";
				return false;
			}
			// The file offset at address at must be at's distance from base.
			if (f[1][3] != 's' || off + (at - start) != at - @base)
			{
				why = $"0x{at:x} is not a shared mapping of the map's memory from its start";
				return false;
			}
			at = stop;
			if (at >= end)
			{
				why = "";
				return true;
			}
		}
		why = $"nothing is mapped at 0x{at:x}";
		return false;
	}
}
