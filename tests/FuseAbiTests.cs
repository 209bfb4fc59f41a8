using System.Reflection;
using System.Runtime.InteropServices;
using Pager.Kernel;
using Xunit;

namespace Pager.Tests;

/// The declarations in FuseNative.cs against libfuse3's headers: a C
/// program compiled against <fuse_lowlevel.h> prints the size of each
/// struct and the offset of each field pagerd names, and the constants.
public class FuseAbiTests
{
	const string Program = """
		#define FUSE_USE_VERSION 35
		#include <fuse_lowlevel.h>
		#include <stddef.h>
		#include <stdio.h>

		#define SIZE(T, C) printf("sizeof %s %zu\n", #T, sizeof(C))
		#define AT(T, C, f, path) printf("offset %s.%s %zu\n", #T, #f, offsetof(C, path))
		#define OP(f) AT(fuse_lowlevel_ops, struct fuse_lowlevel_ops, f, f)
		#define CONST(x) printf("%s %llu\n", #x, (unsigned long long)(x))

		int
		main(void)
		{
			SIZE(fuse_lowlevel_ops, struct fuse_lowlevel_ops);
			OP(init); OP(destroy); OP(lookup); OP(forget); OP(getattr); OP(setattr); OP(readlink);
			OP(mknod); OP(mkdir); OP(unlink); OP(rmdir); OP(symlink); OP(rename); OP(link); OP(open);
			OP(read); OP(write); OP(flush); OP(release); OP(fsync); OP(opendir); OP(readdir);
			OP(releasedir); OP(fsyncdir); OP(statfs); OP(setxattr); OP(getxattr); OP(listxattr);
			OP(removexattr); OP(access); OP(create); OP(getlk); OP(setlk); OP(bmap); OP(ioctl);
			OP(poll); OP(write_buf); OP(retrieve_reply); OP(forget_multi); OP(flock); OP(fallocate);
			OP(readdirplus); OP(copy_file_range); OP(lseek);

			SIZE(fuse_file_info, struct fuse_file_info);
			AT(fuse_file_info, struct fuse_file_info, flags, flags);
			printf("offset fuse_file_info.bits %zu\n", offsetof(struct fuse_file_info, flags) + sizeof(int));
			AT(fuse_file_info, struct fuse_file_info, fh, fh);
			AT(fuse_file_info, struct fuse_file_info, lock_owner, lock_owner);
			AT(fuse_file_info, struct fuse_file_info, poll_events, poll_events);

			SIZE(fuse_stat, struct stat);
			AT(fuse_stat, struct stat, st_dev, st_dev); AT(fuse_stat, struct stat, st_ino, st_ino);
			AT(fuse_stat, struct stat, st_nlink, st_nlink); AT(fuse_stat, struct stat, st_mode, st_mode);
			AT(fuse_stat, struct stat, st_uid, st_uid); AT(fuse_stat, struct stat, st_gid, st_gid);
			AT(fuse_stat, struct stat, st_rdev, st_rdev); AT(fuse_stat, struct stat, st_size, st_size);
			AT(fuse_stat, struct stat, st_blksize, st_blksize); AT(fuse_stat, struct stat, st_blocks, st_blocks);
			AT(fuse_stat, struct stat, st_atime, st_atim.tv_sec); AT(fuse_stat, struct stat, st_atime_nsec, st_atim.tv_nsec);
			AT(fuse_stat, struct stat, st_mtime, st_mtim.tv_sec); AT(fuse_stat, struct stat, st_mtime_nsec, st_mtim.tv_nsec);
			AT(fuse_stat, struct stat, st_ctime, st_ctim.tv_sec); AT(fuse_stat, struct stat, st_ctime_nsec, st_ctim.tv_nsec);

			SIZE(fuse_entry_param, struct fuse_entry_param);
			AT(fuse_entry_param, struct fuse_entry_param, ino, ino);
			AT(fuse_entry_param, struct fuse_entry_param, generation, generation);
			AT(fuse_entry_param, struct fuse_entry_param, attr, attr);
			AT(fuse_entry_param, struct fuse_entry_param, attr_timeout, attr_timeout);
			AT(fuse_entry_param, struct fuse_entry_param, entry_timeout, entry_timeout);

			#define CONN(f) AT(fuse_conn_info, struct fuse_conn_info, f, f)
			CONN(proto_major); CONN(proto_minor); CONN(max_write); CONN(max_read); CONN(max_readahead);
			CONN(capable); CONN(want); CONN(max_background); CONN(congestion_threshold); CONN(time_gran);

			SIZE(fuse_args, struct fuse_args);
			AT(fuse_args, struct fuse_args, argc, argc); AT(fuse_args, struct fuse_args, argv, argv);
			AT(fuse_args, struct fuse_args, allocated, allocated);

			SIZE(fuse_buf, struct fuse_buf);
			AT(fuse_buf, struct fuse_buf, size, size); AT(fuse_buf, struct fuse_buf, flags, flags);
			AT(fuse_buf, struct fuse_buf, mem, mem); AT(fuse_buf, struct fuse_buf, fd, fd);
			AT(fuse_buf, struct fuse_buf, pos, pos);

			CONST(FUSE_CAP_AUTO_INVAL_DATA);
			CONST(FUSE_CAP_WRITEBACK_CACHE);
			CONST(FUSE_SET_ATTR_SIZE);
			return 0;
		}
		""";

	/// Compiles and runs Program; its output as name → value.
	static Dictionary<string, ulong> RunC()
	{
		var dir = Directory.CreateTempSubdirectory("fuseabi");
		try
		{
			var src = Path.Combine(dir.FullName, "abi.c");
			var exe = Path.Combine(dir.FullName, "abi");
			File.WriteAllText(src, Program);
			var cc = Cmd.Run("gcc", ["-Wall", "-I/usr/include/fuse3", "-o", exe, src], null, null, TimeSpan.FromSeconds(60));
			Assert.True(cc.Code == 0, "gcc failed:\n" + cc.Err);
			var run = Cmd.Run(exe, [], null, null, TimeSpan.FromSeconds(10));
			Assert.True(run.Code == 0, "abi program failed:\n" + run.Err);
			return run.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
				.ToDictionary(l => l[..l.LastIndexOf(' ')], l => ulong.Parse(l[(l.LastIndexOf(' ') + 1)..]));
		}
		finally
		{
			dir.Delete(true);
		}
	}

	/// The same facts from the C# declarations. fuse_conn_info is declared
	/// only as far as pagerd reads it, so its size is not compared.
	static Dictionary<string, ulong> InCSharp()
	{
		var d = new Dictionary<string, ulong>();
		foreach (var t in new[] { typeof(fuse_lowlevel_ops), typeof(fuse_file_info), typeof(fuse_stat), typeof(fuse_entry_param),
			typeof(fuse_conn_info), typeof(fuse_args), typeof(fuse_buf) })
		{
			if (t != typeof(fuse_conn_info))
				d.Add($"sizeof {t.Name}", (ulong)Marshal.SizeOf(t));
			foreach (var f in t.GetFields(BindingFlags.Public | BindingFlags.Instance))
				d.Add($"offset {t.Name}.{f.Name}", (ulong)Marshal.OffsetOf(t, f.Name));
		}
		d.Add("FUSE_CAP_AUTO_INVAL_DATA", FuseNative.FUSE_CAP_AUTO_INVAL_DATA);
		d.Add("FUSE_CAP_WRITEBACK_CACHE", FuseNative.FUSE_CAP_WRITEBACK_CACHE);
		d.Add("FUSE_SET_ATTR_SIZE", FuseNative.FUSE_SET_ATTR_SIZE);
		return d;
	}

	[Fact]
	public void DeclarationsMatchTheHeaders()
	{
		var c = RunC();
		var cs = InCSharp();
		var bad = c.Keys.Union(cs.Keys).Order()
			.Where(k => !c.TryGetValue(k, out var v) || !cs.TryGetValue(k, out var w) || v != w)
			.Select(k => $"{k}: C {(c.TryGetValue(k, out var v) ? v : "missing")}, C# {(cs.TryGetValue(k, out var w) ? w : "missing")}");
		Assert.Empty(bad);
	}
}
