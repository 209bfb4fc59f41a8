using System.Text;
using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Sources;

/// file:PATH: map offset o is byte FileOff+o of the file. By default the
/// replies are file lines and pagerd reads the bytes; with Inline they
/// are read here and sent as data. Pages past the end of the file cannot
/// be supplied: they get error replies, and read-ahead stops there.
/// Writes go to the same bytes with pwrite(2), on a descriptor opened
/// read-write at the first write, so a read-only file still serves reads.
public sealed class FileSource : Source
{
	readonly string path;
	readonly SourceConfig c;
	readonly Lock l = new();
	int fd = -1;
	int wfd = -1;

	public FileSource(string name, string path, SourceConfig c) : base(name)
	{
		// pagerd opens the path itself, from its own directory.
		this.path = Path.GetFullPath(path);
		this.c = c;
		if (Encoding.UTF8.GetByteCount(this.path) > 3 * Format.PipeBuf / 4)
			throw new ArgumentException($"{name}: path too long for a file reply");
	}

	public override bool Inline => c.Inline;

	long eof;

	public override List<Msg> Serve(Want w)
	{
		int f = Open(out string why);
		if (f < 0)
			return [Error(w, w.Off, w.Need, why)];
		// The size is taken again only for a request past the known end:
		// files grow, and an fstat a request is a system call too many.
		if (w.End > eof)
			eof = End(f);
		if (w.Off >= eof)
			return [Error(w, w.Off, w.Need, $"offset 0x{w.Off:x} is past the end of the file")];
		long end = Math.Min(w.End, eof);
		var m = c.Inline ? Read(f, w, end) : Reply(w, end);
		if (m.Verb == Verb.Error || w.Need <= eof)
			return [m];
		return [m, Error(w, eof, w.Need, $"offset 0x{eof:x} is past the end of the file")];
	}

	Msg Reply(Want w, long end) =>
		new() { Verb = Verb.File, Map = w.Map, Off = w.Off, Len = end - w.Off, Path = path, FileOff = c.FileOff + w.Off };

	Msg Read(int f, Want w, long end)
	{
		var b = new byte[end - w.Off];
		int n;
		try
		{
			n = Posix.PRead(f, b, c.FileOff + w.Off, path);
		}
		catch (SysException e)
		{
			return Error(w, w.Off, w.Need, $"read: {Errstr(e.Errno)}");
		}
		// The tail of the file's last page reads as zeros, as with mmap(2);
		// any other shortfall in the pages asked for is an error.
		long got = Math.Min(RoundUp(n), b.Length);
		if (w.Off + got < Math.Min(end, w.Need))
			return Error(w, w.Off, w.Need, $"short read: {n} of {b.Length} bytes at file offset 0x{c.FileOff + w.Off:x}");
		return Data(w, w.Off, got == b.Length ? b : b[..(int)got]);
	}

	public override Msg Write(Msg w)
	{
		int f = Open(ref wfd, Posix.O_RDWR, out string why);
		if (f < 0)
			return Unwritten(w, why);
		try
		{
			Posix.PWrite(f, w.Payload, c.FileOff + w.Off, path);
		}
		catch (SysException e)
		{
			return Unwritten(w, $"write: {Errstr(e.Errno)}");
		}
		return Written(w);
	}

	/// fdatasync(2) on the descriptor written through, if any.
	public override string? Sync()
	{
		int f;
		lock (l)
			f = wfd;
		if (f < 0)
			return null;
		try
		{
			Posix.Fdatasync(f, path);
			return null;
		}
		catch (SysException e)
		{
			return $"{Name}: fdatasync: {Errstr(e.Errno)}";
		}
	}

	int Open(out string why) => Open(ref fd, Posix.O_RDONLY, out why);

	/// The descriptor, opened on first use; a file that is missing now
	/// may be there for a later request.
	int Open(ref int d, int mode, out string why)
	{
		why = "";
		lock (l)
		{
			if (d >= 0)
				return d;
			int r = Posix.TryOpen(path, mode);
			if (r < 0)
				why = Errstr(-r);
			else
				d = r;
			return r;
		}
	}

	/// The map offset where the file's pages end: its size, taken anew
	/// each time since files grow, less FileOff, rounded up to a page.
	/// Files that are not regular have no known end.
	long End(int f)
	{
		try
		{
			var st = Posix.Fstat(f, path);
			return st.IsRegular ? RoundUp(Math.Max(0, st.Size - c.FileOff)) : long.MaxValue;
		}
		catch (SysException)
		{
			return long.MaxValue;
		}
	}
}
