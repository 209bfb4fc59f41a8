using System.Text;
using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Daemon;

/// The keeper: a process pagerd starts (`pagerd -K`) that does nothing
/// but hold descriptors, each map's memfd and page state, and hand them
/// to the next pagerd, so that a pagerd killed outright loses nothing it
/// held. The fd store systemd keeps for services, made here. It takes
/// KeepLine messages on DIR/keep from processes of its own user, one at
/// a time, and lives until a pagerd says bye or the socket is no longer
/// its own (the namespace was removed, or another keeper took it).
public sealed class Keeper
{
	readonly string path;
	readonly Dictionary<string, (string Text, int Fd)> held = [];
	readonly Loop loop = new();
	readonly int listen;
	readonly ulong ino;
	bool done;

	Keeper(string root)
	{
		path = Dir.Keeper(root);
		listen = UnixSocket.Listen(path);
		Posix.SetNonblock(listen, true);
		ino = Posix.Lstat(path).Ino;
		loop.Add(listen, Epoll.In, _ => Accept());
	}

	/// The keeper's life: returns when it is done with.
	public static void Run(string root)
	{
		var k = new Keeper(root);
		k.loop.Run(1000, k.Tick, _ => { }, () => k.done, long.MaxValue);
		foreach (var (_, fd) in k.held.Values)
			Posix.Close(fd);
		if (Posix.TryLstat(k.path)?.Ino == k.ino)
			Posix.Unlink(k.path);
		// Hung up last: a pagerd that said bye waits for this to know the
		// socket is gone.
		foreach (var c in k.conns)
			Posix.Close(c.Fd);
	}

	void Tick() => done |= Posix.TryLstat(path)?.Ino != ino;

	void Accept()
	{
		for (int fd; (fd = UnixSocket.Accept(listen)) >= 0;)
		{
			if (UnixSocket.Peer(fd).Uid == Posix.Geteuid())
				Serve(fd);
			else
				Posix.Close(fd);
		}
	}

	/// One pagerd's connection: what it has sent so far, not yet taken.
	sealed class Conn(int fd)
	{
		public readonly int Fd = fd;
		public readonly List<int> Fds = [];
		public readonly LineBuffer Lines = new();
		public readonly byte[] Buf = new byte[16 << 10];
	}

	readonly List<Conn> conns = [];
	bool draining;

	/// One pagerd's connection, until it closes.
	void Serve(int fd)
	{
		Posix.SetNonblock(fd, true);
		var c = new Conn(fd);
		conns.Add(c);
		loop.Add(fd, Epoll.In, _ => Read(c));
	}

	/// Takes what one recvmsg gives of c's (a message with a descriptor
	/// comes alone); false when nothing was waiting or c is closed.
	bool Read(Conn c)
	{
		int n;
		try
		{
			n = UnixSocket.Receive(c.Fd, c.Buf, c.Fds);
		}
		catch (SysException)
		{
			n = 0;
		}
		if (n > 0)
		{
			c.Lines.Feed(c.Buf.AsSpan(0, n), l => Line(c, l), _ => { });
			return true;
		}
		if (n == 0)
		{
			loop.Remove(c.Fd);
			Posix.Close(c.Fd);
			c.Fds.ForEach(Posix.Close);
			conns.Remove(c);
		}
		return false;
	}

	/// One message; its descriptor, if it has one, is the first of c's.
	void Line(Conn c, string line)
	{
		KeepLine m;
		try
		{
			m = KeepLine.Parse(line);
		}
		catch (ProtocolException)
		{
			return;
		}
		switch (m.Verb)
		{
		case "keep":
			if (c.Fds.Count == 0)
				return;
			Drop(m.Key);
			held[m.Key] = (m.Text, c.Fds[0]);
			c.Fds.RemoveAt(0);
			break;
		case "drop":
			Drop(m.Key);
			break;
		case "give":
			TakeAll(c);
			foreach (var (key, (text, fd)) in held)
				UnixSocket.Send(c.Fd, Encoding.UTF8.GetBytes(KeepLine.Kept(key, text) + "\n"), fd);
			UnixSocket.Send(c.Fd, Encoding.UTF8.GetBytes(KeepLine.End + "\n"));
			break;
		case "bye":
			done = true;
			break;
		}
	}

	/// Before a give is answered, everything the other connections have
	/// sent is taken: a pagerd killed just after keeping a map has its
	/// lines waiting here, and the next pagerd's give must not overtake
	/// them.
	void TakeAll(Conn asking)
	{
		if (draining)
			return;
		draining = true;
		try
		{
			foreach (var o in conns.ToArray())
				if (o != asking)
					while (Read(o))
					{
					}
		}
		finally
		{
			draining = false;
		}
	}

	void Drop(string key)
	{
		if (held.Remove(key, out var h))
			Posix.Close(h.Fd);
	}
}
