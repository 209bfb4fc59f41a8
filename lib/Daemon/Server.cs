using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Daemon;

/// pagerd: the namespace, the socket, and the maps, served from one loop.
public sealed partial class Server : IDisposable
{
	readonly string root;
	readonly Loop loop = new();
	readonly Dictionary<string, Map> maps = [];
	readonly List<Conn> conns = [];
	readonly Action<string> log;
	readonly int listen;
	readonly FifoIn ctl;
	readonly LineBuffer ctlLines = new();

	public Server(string root, Action<string> log)
	{
		this.root = root;
		this.log = log;
		Claim(root);
		listen = UnixSocket.Listen(Dir.Socket(root));
		Posix.SetNonblock(listen, true);
		loop.Add(listen, Epoll.In, _ => Accept());
		ctl = new FifoIn(loop, Dir.Ctl(root),
			b => ctlLines.Feed(b, l => FifoCtl(null, l), e => log("ctl: " + e)),
			() => ctlLines.End(l => FifoCtl(null, l)));
	}

	/// Makes the namespace directory, refusing one another pagerd serves.
	static void Claim(string root)
	{
		Posix.Mkdir(root, 0x1c0);
		Posix.Chmod(root, 0x1c0);
		try
		{
			Posix.Close(UnixSocket.Connect(Dir.Socket(root)));
		}
		catch (SysException)
		{
			foreach (var f in new[] { Dir.Socket(root), Dir.Ctl(root) })
				Posix.Unlink(f);
			return;
		}
		throw new CtlException($"another pagerd serves {root}");
	}

	public string Root => root;

	public void Run() => loop.Run(100, Tick);

	/// Safe from a signal handler.
	public void Stop() => loop.Stop();

	void Tick()
	{
		foreach (var m in maps.Values)
			m.Tick();
	}

	void Accept()
	{
		for (int fd; (fd = UnixSocket.Accept(listen)) >= 0;)
		{
			Posix.SetNonblock(fd, true);
			var c = new Conn(fd, SocketLine, Closed);
			conns.Add(c);
			loop.Add(fd, Epoll.In, c.Ready);
		}
	}

	void SocketLine(Conn c, string line)
	{
		int passFd = -1;
		try
		{
			var body = Exec(c, line, ref passFd);
			if (body is not null)
				c.Reply(body, passFd);
		}
		catch (Exception e) when (e is CtlException or ProtocolException or SysException)
		{
			c.Fail(e.Message);
		}
		finally
		{
			Posix.Close(passFd);
		}
	}

	/// A line written to a ctl FIFO: there is no one to answer, so
	/// failures go to the log and, for a map's own ctl, to its errors.
	void FifoCtl(Map? m, string line)
	{
		int passFd = -1;
		try
		{
			Exec(null, line, ref passFd);
		}
		catch (Exception e) when (e is CtlException or ProtocolException or SysException)
		{
			if (m is not null)
				m.BadInput($"ctl: {e.Message}");
			else
				log($"ctl: {e.Message}");
		}
	}

	/// A map's ctl FIFO takes the same messages with the map's name left out.
	void MapCtl(Map m, string line)
	{
		var f = Fields.Split(line, 1, out var rest);
		if (f.Count == 0)
			return;
		FifoCtl(m, $"{f[0]} {Fields.Quote(m.Name)} {rest}");
	}

	void Closed(Conn c)
	{
		foreach (var a in c.Attached)
			Drop(a);
		c.Attached.Clear();
		conns.Remove(c);
		loop.Remove(c.Fd);
		Posix.Close(c.Fd);
	}

	void Drop(Attachment a)
	{
		loop.Remove(a.Uffd.Fd);
		a.Map.Detach(a);
		a.Uffd.Dispose();
	}

	/// Before exiting: writes back what it can, for up to wait, and says
	/// what it could not.
	public void WriteBackAll(TimeSpan wait)
	{
		var busy = maps.Values.Where(m => m.DirtyPages + m.Writing > 0).ToList();
		if (busy.Count == 0)
			return;
		int left = busy.Count;
		foreach (var m in busy)
			m.Sync(f =>
			{
				left--;
				f.ForEach(l => log($"map {m.Name}: not written back: {l}"));
			});
		loop.Run(100, Tick, () => left == 0, Environment.TickCount64 + (long)wait.TotalMilliseconds);
		foreach (var m in busy.Where(m => m.DirtyPages + m.Writing > 0))
			log($"map {m.Name}: {m.DirtyPages + m.Writing} dirty pages lost: not written back before exit");
	}

	public void Dispose()
	{
		foreach (var c in conns.ToList())
			c.Close();
		foreach (var m in maps.Values)
			m.Dispose();
		maps.Clear();
		ctl.Dispose();
		loop.Remove(listen);
		Posix.Close(listen);
		Posix.Unlink(Dir.Socket(root));
		loop.Dispose();
		try
		{
			Directory.Delete(root);
		}
		catch (IOException)
		{
			// Not empty: something else lives there; leave it.
		}
	}
}
