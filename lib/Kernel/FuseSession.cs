using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Pager.Kernel;

/// A FUSE file system mounted through libfuse3's low-level API. Requests
/// are read and dispatched to an IFuseFs by Serve, which the caller runs
/// when Fd is readable: libfuse never runs a loop or a thread of its own
/// here. Invalidations go to the kernel from a thread of their own, since
/// the kernel may make the caller of one wait for a read in flight, which
/// only the serving thread can answer.
public sealed unsafe class FuseSession : IDisposable
{
	readonly nint se;
	readonly GCHandle self;
	readonly IFuseFs fs;
	readonly Action<string> log;
	readonly fuse_buf* buf;
	readonly fuse_lowlevel_ops* ops;
	readonly BlockingCollection<(ulong Ino, long Off, long Len, string? Name)> notes = new(4096);
	readonly Thread notifier;
	public readonly string Dir;
	bool mounted;

	/// Mounts fs on dir, which must exist: through mount(2) as root, else
	/// through fusermount3. auto_unmount has fusermount3 unmount it if this
	/// process dies without doing so.
	public FuseSession(string dir, IFuseFs fs, Action<string> log)
	{
		FuseNative.Load();
		Dir = dir;
		this.fs = fs;
		this.log = log;
		self = GCHandle.Alloc(this);
		ops = (fuse_lowlevel_ops*)NativeMemory.AllocZeroed((nuint)sizeof(fuse_lowlevel_ops));
		buf = (fuse_buf*)NativeMemory.AllocZeroed((nuint)sizeof(fuse_buf));
		Ops(ops);
		var argv = new[] { "pagerd", "-o", "default_permissions,auto_unmount,fsname=pagerd,subtype=pager" };
		var z = argv.Select(Posix.Z).ToArray();
		var pins = z.Select(a => GCHandle.Alloc(a, GCHandleType.Pinned)).ToArray();
		try
		{
			var ptrs = stackalloc byte*[argv.Length];
			for (int i = 0; i < argv.Length; i++)
				ptrs[i] = (byte*)pins[i].AddrOfPinnedObject();
			var args = new fuse_args { argc = argv.Length, argv = ptrs };
			se = FuseNative.fuse_session_new(&args, ops, (nuint)sizeof(fuse_lowlevel_ops), (void*)GCHandle.ToIntPtr(self));
			if (se == 0)
				throw new SysException("fuse_session_new", Errno.EINVAL, dir);
			int rc;
			fixed (byte* d = Posix.Z(dir))
				rc = FuseNative.fuse_session_mount(se, d);
			// libfuse has said why on standard error, pagerd's log.
			if (rc != 0)
				throw new SysException("fuse_session_mount", Errno.ENODEV, $"{dir} (libfuse's reason is logged above)");
			mounted = true;
		}
		catch
		{
			Dispose();
			throw;
		}
		finally
		{
			foreach (var p in pins)
				p.Free();
		}
		Fd = FuseNative.fuse_session_fd(se);
		Posix.SetNonblock(Fd, true);
		// A keeper started later must not hold the mount's connection open
		// (pagerd(8), "Restarts"): the view of a dead pagerd must fail.
		Posix.SetCloexec(Fd);
		notifier = new Thread(Notify) { IsBackground = true, Name = "fuse invalidations" };
		notifier.Start();
	}

	public readonly int Fd;

	/// A file system left mounted on dir by a process that died before
	/// fusermount3 could unmount it answers every access with ENOTCONN:
	/// it is unmounted lazily, with umount2 as root, else with fusermount3.
	public static void Unstale(string dir, Action<string> log)
	{
		try
		{
			Posix.Lstat(dir);
			return;
		}
		catch (SysException e) when (e.Errno == Errno.ENOTCONN)
		{
		}
		catch (SysException)
		{
			return;
		}
		log($"{dir}: the file view of a pagerd that died is still mounted; unmounting it");
		if (Posix.Geteuid() == 0)
		{
			try
			{
				Posix.UmountDetach(dir);
			}
			catch (SysException e) when (e.Errno == Errno.EINVAL)
			{
				// fusermount3 got there first.
			}
			return;
		}
		using var p = System.Diagnostics.Process.Start("fusermount3", ["-u", "-z", dir]);
		if (!p.WaitForExit(5000))
			p.Kill();
	}

	/// Serves the requests at hand; false once the file system is gone
	/// (unmounted from outside, or the connection aborted).
	public bool Serve()
	{
		for (;;)
		{
			int n = FuseNative.fuse_session_receive_buf(se, buf);
			if (n == 0)
				return false;
			if (n < 0)
				return true; // EAGAIN: no more now; EINTR, ENOENT: one was withdrawn
			FuseNative.fuse_session_process_buf(se, buf);
		}
	}

	/// Drops the kernel's cached pages of [off, off+len) of ino (len 0:
	/// to the end), or with name, the name's entry in directory ino.
	/// Queued: when the queue is full the kernel keeps the pages a while
	/// longer, which costs memory, not correctness, for pages that are clean.
	public void Invalidate(ulong ino, long off, long len) => notes.TryAdd((ino, off, len, null));

	public void Forget(ulong dir, string name) => notes.TryAdd((dir, 0, 0, name));

	void Notify()
	{
		foreach (var (ino, off, len, name) in notes.GetConsumingEnumerable())
		{
			if (name is null)
				FuseNative.fuse_lowlevel_notify_inval_inode(se, ino, off, len);
			else
			{
				var z = Encoding.UTF8.GetBytes(name);
				fixed (byte* p = z)
					FuseNative.fuse_lowlevel_notify_inval_entry(se, ino, p, (nuint)z.Length);
			}
		}
	}

	public void Dispose()
	{
		notes.CompleteAdding();
		if (mounted)
			FuseNative.fuse_session_unmount(se);
		mounted = false;
		// The notifier may be inside a call the unmount has just ended;
		// the session is freed only once it is out.
		bool quiet = notifier is null || notifier.Join(2000);
		if (se != 0 && quiet)
			FuseNative.fuse_session_destroy(se);
		if (buf != null && quiet)
		{
			NativeMemory.Free(buf->mem);
			NativeMemory.Free(buf);
		}
		if (self.IsAllocated && quiet)
			self.Free();
	}

	// The callbacks: each finds its session from the request's userdata
	// and hands the request to the file system. What the file system
	// throws is logged and answered EIO; nothing may unwind into libfuse.

	static void Ops(fuse_lowlevel_ops* o)
	{
		o->init = (nint)(delegate* unmanaged<void*, fuse_conn_info*, void>)&Init;
		o->lookup = (nint)(delegate* unmanaged<nint, ulong, byte*, void>)&Lookup;
		o->forget = (nint)(delegate* unmanaged<nint, ulong, ulong, void>)&Forget;
		o->getattr = (nint)(delegate* unmanaged<nint, ulong, fuse_file_info*, void>)&Getattr;
		o->setattr = (nint)(delegate* unmanaged<nint, ulong, fuse_stat*, int, fuse_file_info*, void>)&Setattr;
		o->open = (nint)(delegate* unmanaged<nint, ulong, fuse_file_info*, void>)&Open;
		o->read = (nint)(delegate* unmanaged<nint, ulong, nuint, long, fuse_file_info*, void>)&Read;
		o->write = (nint)(delegate* unmanaged<nint, ulong, byte*, nuint, long, fuse_file_info*, void>)&Write;
		o->flush = (nint)(delegate* unmanaged<nint, ulong, fuse_file_info*, void>)&Done;
		o->release = (nint)(delegate* unmanaged<nint, ulong, fuse_file_info*, void>)&Done;
		o->fsync = (nint)(delegate* unmanaged<nint, ulong, int, fuse_file_info*, void>)&Fsync;
		o->opendir = (nint)(delegate* unmanaged<nint, ulong, fuse_file_info*, void>)&Opendir;
		o->readdir = (nint)(delegate* unmanaged<nint, ulong, nuint, long, fuse_file_info*, void>)&Readdir;
		o->releasedir = (nint)(delegate* unmanaged<nint, ulong, fuse_file_info*, void>)&Done;
		o->mknod = (nint)(delegate* unmanaged<nint, ulong, byte*, uint, ulong, void>)&Mknod;
		o->mkdir = (nint)(delegate* unmanaged<nint, ulong, byte*, uint, void>)&Mkdir;
		o->create = (nint)(delegate* unmanaged<nint, ulong, byte*, uint, fuse_file_info*, void>)&Create;
		o->unlink = (nint)(delegate* unmanaged<nint, ulong, byte*, void>)&Unlink;
		o->rmdir = (nint)(delegate* unmanaged<nint, ulong, byte*, void>)&Rmdir;
		o->rename = (nint)(delegate* unmanaged<nint, ulong, byte*, ulong, byte*, uint, void>)&Rename;
		o->link = (nint)(delegate* unmanaged<nint, ulong, ulong, byte*, void>)&Link;
		o->symlink = (nint)(delegate* unmanaged<nint, byte*, ulong, byte*, void>)&Symlink;
	}

	static FuseSession Of(nint req) => (FuseSession)GCHandle.FromIntPtr((nint)FuseNative.fuse_req_userdata(req)).Target!;

	static void Run(nint req, Action<IFuseFs, FuseReq> a)
	{
		var s = Of(req);
		try
		{
			a(s.fs, new FuseReq(req));
		}
		catch (Exception e)
		{
			s.Failed(req, e);
		}
	}

	void Failed(nint req, Exception e)
	{
		log($"file view: internal error: {e}");
		FuseNative.fuse_reply_err(req, Errno.EIO);
	}

	static string Str(byte* p) => Marshal.PtrToStringUTF8((nint)p) ?? "";

	/// Pages are cached by the kernel and written through: a write(2) is
	/// a write request at once, and a page of a shared mapping is one at
	/// msync, fsync or close. The kernel is not to drop cached pages on
	/// its own when the time changes: pagerd says when (Invalidate).
	[UnmanagedCallersOnly]
	static void Init(void* userdata, fuse_conn_info* conn) =>
		conn->want &= ~(FuseNative.FUSE_CAP_WRITEBACK_CACHE | FuseNative.FUSE_CAP_AUTO_INVAL_DATA);

	[UnmanagedCallersOnly]
	static void Lookup(nint req, ulong parent, byte* name) { var n = Str(name); Run(req, (fs, r) => fs.Lookup(r, parent, n)); }

	[UnmanagedCallersOnly]
	static void Forget(nint req, ulong ino, ulong nlookup) => FuseNative.fuse_reply_none(req);

	[UnmanagedCallersOnly]
	static void Getattr(nint req, ulong ino, fuse_file_info* fi) => Run(req, (fs, r) => fs.Getattr(r, ino));

	[UnmanagedCallersOnly]
	static void Setattr(nint req, ulong ino, fuse_stat* attr, int set, fuse_file_info* fi)
	{
		long? size = (set & FuseNative.FUSE_SET_ATTR_SIZE) != 0 ? attr->st_size : null;
		Run(req, (fs, r) => fs.Setattr(r, ino, size));
	}

	[UnmanagedCallersOnly]
	static void Open(nint req, ulong ino, fuse_file_info* fi) { int flags = fi->flags; Run(req, (fs, r) => fs.Open(r, ino, flags)); }

	[UnmanagedCallersOnly]
	static void Read(nint req, ulong ino, nuint size, long off, fuse_file_info* fi) => Run(req, (fs, r) => fs.Read(r, ino, off, (long)size));

	[UnmanagedCallersOnly]
	static void Write(nint req, ulong ino, byte* bytes, nuint size, long off, fuse_file_info* fi)
	{
		var s = Of(req);
		try
		{
			s.fs.Write(new FuseReq(req), ino, new ReadOnlySpan<byte>(bytes, (int)size), off);
		}
		catch (Exception e)
		{
			s.Failed(req, e);
		}
	}

	[UnmanagedCallersOnly]
	static void Done(nint req, ulong ino, fuse_file_info* fi) => FuseNative.fuse_reply_err(req, 0);

	[UnmanagedCallersOnly]
	static void Fsync(nint req, ulong ino, int datasync, fuse_file_info* fi) => Run(req, (fs, r) => fs.Fsync(r, ino));

	[UnmanagedCallersOnly]
	static void Opendir(nint req, ulong ino, fuse_file_info* fi) => Run(req, (fs, r) => fs.Opendir(r, ino));

	[UnmanagedCallersOnly]
	static void Readdir(nint req, ulong ino, nuint size, long off, fuse_file_info* fi) => Run(req, (fs, r) => fs.Readdir(r, ino, off, (long)size));

	static void Change(nint req, string op, byte* name) { var n = Str(name); Run(req, (fs, r) => fs.Change(r, op, n)); }

	[UnmanagedCallersOnly] static void Mknod(nint req, ulong parent, byte* name, uint mode, ulong rdev) => Change(req, "mknod", name);
	[UnmanagedCallersOnly] static void Mkdir(nint req, ulong parent, byte* name, uint mode) => Change(req, "mkdir", name);
	[UnmanagedCallersOnly] static void Create(nint req, ulong parent, byte* name, uint mode, fuse_file_info* fi) => Change(req, "create", name);
	[UnmanagedCallersOnly] static void Unlink(nint req, ulong parent, byte* name) => Change(req, "unlink", name);
	[UnmanagedCallersOnly] static void Rmdir(nint req, ulong parent, byte* name) => Change(req, "rmdir", name);
	[UnmanagedCallersOnly] static void Rename(nint req, ulong parent, byte* name, ulong newparent, byte* newname, uint flags) => Change(req, "rename", name);
	[UnmanagedCallersOnly] static void Link(nint req, ulong ino, ulong newparent, byte* newname) => Change(req, "link", newname);
	[UnmanagedCallersOnly] static void Symlink(nint req, byte* link, ulong parent, byte* name) => Change(req, "symlink", name);
}
