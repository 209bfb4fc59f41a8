namespace Pager.Kernel;

/// A file system served through FuseSession: one method an operation,
/// each ending, now or later, in exactly one answer to its request.
/// Operations not here (links, extended attributes, locks) are answered
/// by libfuse or the kernel themselves.
public interface IFuseFs
{
	void Lookup(FuseReq r, ulong parent, string name);
	void Getattr(FuseReq r, ulong ino);
	/// size is the new length, or null when the change is to something
	/// else (mode, owner, times).
	void Setattr(FuseReq r, ulong ino, long? size);
	void Open(FuseReq r, ulong ino, int flags);
	void Read(FuseReq r, ulong ino, long off, long size);
	void Write(FuseReq r, ulong ino, ReadOnlySpan<byte> bytes, long off);
	void Fsync(FuseReq r, ulong ino);
	void Opendir(FuseReq r, ulong ino);
	void Readdir(FuseReq r, ulong ino, long off, long size);
	/// Making or removing a name: mknod, mkdir, create, unlink, rmdir,
	/// rename, link, symlink.
	void Change(FuseReq r, string op, string name);
}
