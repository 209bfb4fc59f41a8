using Pager.Kernel;

namespace Pager.Daemon;

/// Every map as a regular file, in a FUSE file system pagerd serves from
/// its loop: one short handler a request, each ending in its answer, or
/// in a wait for pages (Map.Need) that ends in one. The file's bytes are
/// the map's: a read of a page the map lacks is a fault like any other,
/// and a write dirties the map's pages. See pagerd(8), THE FILE VIEW.
public sealed class FileView : IFuseFs, IDisposable
{
	const ulong Root = 1;
	/// The most a truncate may cut off at once: what it cuts becomes
	/// zeros written into the map.
	public const long MaxCut = 1L << 30;
	readonly FuseSession fuse;
	readonly Dictionary<ulong, Map> byIno = [];
	readonly Dictionary<string, ulong> inoOf = [];
	readonly Action<string> log;
	readonly DateTime born = DateTime.UtcNow;
	ulong next = Root + 1;

	public FileView(string dir, Loop loop, Action<string> log)
	{
		this.log = log;
		fuse = new FuseSession(dir, this, log);
		loop.Add(fuse.Fd, Epoll.In, _ =>
		{
			if (!fuse.Serve())
			{
				log($"file view: {dir} was unmounted; maps are no longer files");
				loop.Remove(fuse.Fd);
			}
		});
	}

	public string Dir => fuse.Dir;

	public void Added(Map m)
	{
		ulong ino = next++;
		byIno[ino] = m;
		inoOf[m.Name] = ino;
		m.Dropped = (off, len) => fuse.Invalidate(ino, off, len);
	}

	public void Removed(Map m)
	{
		if (!inoOf.Remove(m.Name, out var ino))
			return;
		byIno.Remove(ino);
		fuse.Forget(Root, m.Name);
		fuse.Invalidate(ino, 0, 0);
	}

	FuseAttr Attr(ulong ino, Map m) =>
		new(ino, FuseAttr.S_IFREG | (m.Opt.ReadOnly ? 0x124u : 0x1a4u), 1, Posix.Geteuid(), Posix.Getegid(), m.FileSize, m.Modified);

	FuseAttr RootAttr => new(Root, FuseAttr.S_IFDIR | 0x1c0, 2, Posix.Geteuid(), Posix.Getegid(), 0, born);

	public void Lookup(FuseReq r, ulong parent, string name)
	{
		if (parent == Root && inoOf.TryGetValue(name, out var ino))
			r.Entry(Attr(ino, byIno[ino]));
		else
			r.Error(Errno.ENOENT);
	}

	public void Getattr(FuseReq r, ulong ino)
	{
		if (ino == Root)
			r.Attr(RootAttr);
		else if (byIno.TryGetValue(ino, out var m))
			r.Attr(Attr(ino, m));
		else
			r.Error(Errno.ENOENT);
	}

	/// Only the length may change, and only within the map's size.
	public void Setattr(FuseReq r, ulong ino, long? size)
	{
		if (!byIno.TryGetValue(ino, out var m))
		{
			r.Error(ino == Root ? Errno.EPERM : Errno.ENOENT);
			return;
		}
		if (size is not { } n || n == m.FileSize)
		{
			r.Attr(Attr(ino, m));
			return;
		}
		if (m.Opt.ReadOnly)
			r.Error(Errno.EROFS);
		else if (n < 0 || n > m.Size)
			r.Error(Errno.EFBIG);
		else if (m.FileSize - n > MaxCut)
			r.Error(Errno.EFBIG);
		else
		{
			long was = m.FileSize;
			m.FileSize = n;
			Zero(m, n, was, () => r.Attr(Attr(ino, m)), why => Failed(r, m, "truncate", why));
		}
	}

	/// Writes zeros over [off, end), a megabyte at a time.
	static void Zero(Map m, long off, long end, Action done, Action<string> failed)
	{
		if (off >= end)
		{
			done();
			return;
		}
		long n = Math.Min(end - off, 1 << 20);
		m.Write(off, new byte[n], () => Zero(m, off + n, end, done, failed), failed);
	}

	public void Open(FuseReq r, ulong ino, int flags)
	{
		if (!byIno.TryGetValue(ino, out var m))
			r.Error(ino == Root ? Errno.EISDIR : Errno.ENOENT);
		else if (m.Opt.ReadOnly && (flags & (Posix.O_WRONLY | Posix.O_RDWR)) != 0)
			r.Error(Errno.EACCES);
		else
			r.Opened();
	}

	/// Answered from the map's memory once the pages are there.
	public void Read(FuseReq r, ulong ino, long off, long size)
	{
		if (!byIno.TryGetValue(ino, out var m))
		{
			r.Error(Errno.ENOENT);
			return;
		}
		long n = Math.Clamp(m.FileSize - off, 0, size);
		if (n == 0)
		{
			r.Data([]);
			return;
		}
		m.Need(off, n, () => r.Data(m.Memory.Bytes(off, n)), why => Failed(r, m, "read", why));
	}

	/// Into the map's memory, dirtying its pages; a write past the map's
	/// size is cut at it.
	public void Write(FuseReq r, ulong ino, ReadOnlySpan<byte> bytes, long off)
	{
		if (!byIno.TryGetValue(ino, out var m))
		{
			r.Error(Errno.ENOENT);
			return;
		}
		if (m.Opt.ReadOnly)
		{
			r.Error(Errno.EROFS);
			return;
		}
		long n = Math.Clamp(m.Size - off, 0, bytes.Length);
		if (n == 0)
		{
			r.Error(Errno.EFBIG);
			return;
		}
		m.Write(off, bytes[..(int)n].ToArray(), () =>
		{
			m.FileSize = Math.Max(m.FileSize, off + n);
			r.Written(n);
		}, why => Failed(r, m, "write", why));
	}

	/// Writes the map's dirty pages back and waits until they are
	/// durable: EIO if any could not be, and the pages stay dirty.
	public void Fsync(FuseReq r, ulong ino)
	{
		if (!byIno.TryGetValue(ino, out var m))
		{
			r.Error(ino == Root ? 0 : Errno.ENOENT);
			return;
		}
		m.Sync(failed =>
		{
			if (failed.Count > 0)
				log($"map {m.Name}: fsync through the file view: {failed.Count} ranges not written back");
			r.Error(failed.Count == 0 ? 0 : Errno.EIO);
		});
	}

	public void Opendir(FuseReq r, ulong ino)
	{
		if (ino == Root)
			r.Opened();
		else
			r.Error(Errno.ENOTDIR);
	}

	public void Readdir(FuseReq r, ulong ino, long off, long size)
	{
		if (ino != Root)
		{
			r.Error(Errno.ENOTDIR);
			return;
		}
		var entries = new List<(string, FuseAttr)> { (".", RootAttr), ("..", RootAttr) };
		entries.AddRange(inoOf.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => (e.Key, Attr(e.Value, byIno[e.Value]))));
		r.Dir(entries, off, size);
	}

	/// Maps are made and removed with new and rm, not here.
	public void Change(FuseReq r, string op, string name)
	{
		log($"file view: {op} '{name}' refused: maps are made with new and removed with rm");
		r.Error(Errno.EPERM);
	}

	/// A read or write the map could not serve: EIO, as a disk gives.
	/// The map has recorded why, and told its clients.
	void Failed(FuseReq r, Map m, string op, string why)
	{
		log($"map {m.Name}: {op} through the file view failed: {why}");
		r.Error(Errno.EIO);
	}

	public void Dispose() => fuse.Dispose();
}
