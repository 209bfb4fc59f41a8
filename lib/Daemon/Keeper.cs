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

	/// One pagerd's connection, until it closes.
	void Serve(int conn)
	{
		var fds = new List<int>();
		var lines = new LineBuffer();
		var buf = new byte[16 << 10];
		loop.Add(conn, Epoll.In, _ =>
		{
			int n;
			try
			{
				n = UnixSocket.Receive(conn, buf, fds);
			}
			catch (SysException)
			{
				n = 0;
			}
			if (n > 0)
				lines.Feed(buf.AsSpan(0, n), l => Line(conn, l, fds), _ => { });
			if (n == 0)
			{
				loop.Remove(conn);
				Posix.Close(conn);
				fds.ForEach(Posix.Close);
			}
		});
	}

	/// One message; its descriptor, if it has one, is the first of fds.
	void Line(int conn, string line, List<int> fds)
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
			if (fds.Count == 0)
				return;
			Drop(m.Key);
			held[m.Key] = (m.Text, fds[0]);
			fds.RemoveAt(0);
			break;
		case "drop":
			Drop(m.Key);
			break;
		case "give":
			foreach (var (key, (text, fd)) in held)
				UnixSocket.Send(conn, Encoding.UTF8.GetBytes(KeepLine.Kept(key, text) + "\n"), fd);
			UnixSocket.Send(conn, Encoding.UTF8.GetBytes(KeepLine.End + "\n"));
			break;
		case "bye":
			done = true;
			break;
		}
	}

	void Drop(string key)
	{
		if (held.Remove(key, out var h))
			Posix.Close(h.Fd);
	}
}
