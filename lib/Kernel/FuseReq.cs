using System.Text;

namespace Pager.Kernel;

/// One FUSE request, to be answered exactly once, now or later: a read
/// waiting for its pages keeps its FuseReq until they come.
public readonly unsafe struct FuseReq(nint req)
{
	/// How long the kernel may keep names and attributes it was given.
	const double Timeout = 1.0;

	public void Error(int errno) => FuseNative.fuse_reply_err(req, errno);

	public void Ok() => FuseNative.fuse_reply_err(req, 0);

	public void None() => FuseNative.fuse_reply_none(req);

	public void Entry(FuseAttr a)
	{
		var e = new fuse_entry_param { ino = a.Ino, attr = a.Stat(), attr_timeout = Timeout, entry_timeout = Timeout };
		FuseNative.fuse_reply_entry(req, &e);
	}

	public void Attr(FuseAttr a)
	{
		var st = a.Stat();
		FuseNative.fuse_reply_attr(req, &st, Timeout);
	}

	/// The file is open; its cached pages are dropped (the kernel's
	/// default), so that an open sees what the map holds now.
	public void Opened()
	{
		var fi = new fuse_file_info();
		FuseNative.fuse_reply_open(req, &fi);
	}

	public void Written(long n) => FuseNative.fuse_reply_write(req, (nuint)n);

	public void Data(ReadOnlySpan<byte> bytes)
	{
		fixed (byte* p = bytes)
			FuseNative.fuse_reply_buf(req, p, (nuint)bytes.Length);
	}

	/// A directory's entries from index off on, as many as fit in size
	/// bytes; each entry's offset is the index of the next.
	public void Dir(IReadOnlyList<(string Name, FuseAttr Attr)> entries, long off, long size)
	{
		var buf = new byte[size];
		long used = 0;
		fixed (byte* b = buf)
			for (long i = off; i < entries.Count; i++)
			{
				var st = entries[(int)i].Attr.Stat();
				fixed (byte* name = Encoding.UTF8.GetBytes(entries[(int)i].Name + "\0"))
				{
					nuint n = FuseNative.fuse_add_direntry(req, b + used, (nuint)(size - used), name, &st, i + 1);
					if ((long)n > size - used)
						break;
					used += (long)n;
				}
			}
		Data(buf.AsSpan(0, (int)used));
	}
}
