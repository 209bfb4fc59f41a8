using System.Text;
using Tmds.Linux;

namespace Pager.Kernel;

/// Unix stream sockets that carry descriptors (SCM_RIGHTS) with their bytes.
public static unsafe class UnixSocket
{
	static int Socket() => Sys.Check(LibC.socket(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0), "socket");

	static sockaddr_un Address(string path)
	{
		var a = new sockaddr_un { sun_family = LibC.AF_UNIX };
		var b = Encoding.UTF8.GetBytes(path);
		if (b.Length >= 108)
			throw new SysException("bind", Errno.EINVAL, $"{path} (longer than a socket path may be)");
		for (int i = 0; i < b.Length; i++)
			a.sun_path[i] = b[i];
		return a;
	}

	public static int Listen(string path)
	{
		int fd = Socket();
		var a = Address(path);
		Posix.Unlink(path);
		Sys.Check(LibC.bind(fd, (sockaddr*)&a, (uint)sizeof(sockaddr_un)), "bind", path);
		Posix.Chmod(path, 0x180); // 0600: connecting needs write permission
		Sys.Check(LibC.listen(fd, 64), "listen", path);
		return fd;
	}

	/// accept(2) on a listening socket; -1 when no connection waits.
	public static int Accept(int fd)
	{
		int c = LibC.accept4(fd, null, null, LibC.SOCK_CLOEXEC);
		if (c < 0 && (Sys.Errno == Errno.EAGAIN || Sys.Errno == Errno.EINTR))
			return -1;
		return Sys.Check(c, "accept");
	}

	public static int Connect(string path)
	{
		int fd = Socket();
		var a = Address(path);
		if (LibC.connect(fd, (sockaddr*)&a, (uint)sizeof(sockaddr_un)) < 0)
		{
			int err = Sys.Errno;
			LibC.close(fd);
			throw new SysException("connect", err, path);
		}
		return fd;
	}

	/// Sends all of buf on a blocking socket; passFd, if not -1, rides
	/// along with the first byte.
	public static void Send(int fd, ReadOnlySpan<byte> buf, int passFd = -1)
	{
		for (int done = 0; done < buf.Length;)
		{
			int n = TrySend(fd, buf[done..], done == 0 ? passFd : -1);
			if (n < 0)
			{
				// A peer that reads nothing for this long is not reading.
				if (!Posix.Poll(fd, Posix.POLLOUT, 5000))
					throw new SysException("sendmsg", Errno.EAGAIN, "(the peer is not reading)");
				continue;
			}
			done += n;
		}
	}

	/// One sendmsg(2) of as much of buf as the socket takes now, with
	/// passFd, if not -1, riding on its first byte: bytes sent, or -1 when
	/// a non-blocking socket is full.
	public static int TrySend(int fd, ReadOnlySpan<byte> buf, int passFd = -1)
	{
		byte* control = stackalloc byte[64];
		fixed (byte* p = buf)
			for (;;)
			{
				var iov = new iovec { iov_base = p, iov_len = (size_t)(ulong)buf.Length };
				var msg = new msghdr { msg_iov = &iov, msg_iovlen = 1 };
				if (passFd >= 0)
				{
					msg.msg_control = control;
					msg.msg_controllen = (socklen_t)(uint)LibC.CMSG_SPACE(sizeof(int));
					var c = LibC.CMSG_FIRSTHDR(&msg);
					// CMSG_LEN(sizeof(int)), by hand: Tmds.LibC's CMSG_LEN pads
					// the data as CMSG_SPACE does, which sends a second
					// descriptor, whatever the padding holds (0: standard input).
					c->cmsg_len = (socklen_t)(uint)(sizeof(cmsghdr) + sizeof(int));
					c->cmsg_level = LibC.SOL_SOCKET;
					c->cmsg_type = LibC.SCM_RIGHTS;
					*(int*)LibC.CMSG_DATA(c) = passFd;
				}
				long n = LibC.sendmsg(fd, &msg, LibC.MSG_NOSIGNAL);
				if (n < 0 && Sys.Errno == Errno.EINTR)
					continue;
				if (n < 0 && Sys.Errno == Errno.EAGAIN)
					return -1;
				return (int)Sys.Check(n, "sendmsg");
			}
	}

	/// Receives into buf; descriptors that came with the bytes are added to
	/// fds. Returns bytes read, 0 at end, -1 when it would block.
	public static int Receive(int fd, Span<byte> buf, List<int> fds)
	{
		byte* control = stackalloc byte[256];
		fixed (byte* p = buf)
			for (;;)
			{
				var iov = new iovec { iov_base = p, iov_len = (size_t)(ulong)buf.Length };
				var msg = new msghdr { msg_iov = &iov, msg_iovlen = 1, msg_control = control, msg_controllen = (socklen_t)256u };
				long n = LibC.recvmsg(fd, &msg, LibC.MSG_CMSG_CLOEXEC);
				if (n < 0)
				{
					int err = Sys.Errno;
					if (err == Errno.EINTR)
						continue;
					if (err == Errno.EAGAIN)
						return -1;
					if (err == Errno.ECONNRESET) // the peer went away
						return 0;
					throw new SysException("recvmsg", err);
				}
				for (var c = LibC.CMSG_FIRSTHDR(&msg); c != null; c = LibC.CMSG_NXTHDR(&msg, c))
				{
					if (c->cmsg_level != LibC.SOL_SOCKET || c->cmsg_type != LibC.SCM_RIGHTS)
						continue;
					int count = ((int)c->cmsg_len - sizeof(cmsghdr)) / sizeof(int);
					for (int i = 0; i < count; i++)
						fds.Add(((int*)LibC.CMSG_DATA(c))[i]);
				}
				return (int)n;
			}
	}

	/// The process at the other end of a connection, as it was when it
	/// connected (SO_PEERCRED).
	public static (int Pid, uint Uid) Peer(int fd)
	{
		ucred c;
		var len = (socklen_t)(uint)sizeof(ucred);
		Sys.Check(LibC.getsockopt(fd, LibC.SOL_SOCKET, LibC.SO_PEERCRED, &c, &len), "getsockopt SO_PEERCRED");
		return ((int)c.pid, (uint)c.uid);
	}

	/// Ends both directions of a connection: a thread blocked reading it
	/// returns.
	public static void Shutdown(int fd) => LibC.shutdown(fd, LibC.SHUT_RDWR);
}
