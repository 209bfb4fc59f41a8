namespace Pager.Kernel;

/// What a FUSE reply says of a file: its inode, mode (type and
/// permissions), owner, size and modification time.
public readonly record struct FuseAttr(ulong Ino, uint Mode, uint Nlink, uint Uid, uint Gid, long Size, DateTime Mtime)
{
	public const uint S_IFDIR = 0x4000, S_IFREG = 0x8000;

	internal fuse_stat Stat()
	{
		long ns = (Mtime.ToUniversalTime() - DateTime.UnixEpoch).Ticks * 100;
		return new fuse_stat
		{
			st_ino = Ino,
			st_mode = Mode,
			st_nlink = Nlink,
			st_uid = Uid,
			st_gid = Gid,
			st_size = Size,
			st_blksize = Page.Size,
			st_blocks = (Size + 511) / 512,
			st_atime = ns / 1_000_000_000, st_atime_nsec = ns % 1_000_000_000,
			st_mtime = ns / 1_000_000_000, st_mtime_nsec = ns % 1_000_000_000,
			st_ctime = ns / 1_000_000_000, st_ctime_nsec = ns % 1_000_000_000,
		};
	}
}
