using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Daemon;

/// pagerd: the namespace, its socket and ctl FIFO, and the maps, served
/// from one loop. Every line that comes in is parsed against Cmdtab and
/// run by Commands; whatever a handler throws goes back to the sender
/// (or to the log, for a FIFO), and the loop goes on. Unless told not
/// to, it also serves every map as a file (FileView).
public sealed class Server : IDisposable
{
	readonly string root;
	readonly Loop loop = new();
	readonly Commands commands;
	readonly List<Peer> peers = [];
	readonly Action<string> log;
	readonly int listen;
	readonly FifoIn? ctl;
	readonly LineBuffer ctlLines = new();
	bool accepting = true;

	/// files: where to mount the file view, or null for none; keeper: the
	/// command that starts a keeper for root (Keeper), or null for none.
	/// The maps a pagerd that died on root left with its keeper are
	/// served again, as they were.
	public Server(string root, string? files, string[]? keeper, Action<string> log)
	{
		this.root = root;
		this.log = log;
		Claim(root);
		commands = new Commands(root, loop, log, MapCtl);
		listen = -1;
		var kept = new List<KeeperLink.Kept>();
		try
		{
			listen = UnixSocket.Listen(Dir.Socket(root));
			Posix.SetNonblock(listen, true);
			loop.Add(listen, Epoll.In, _ => Accept());
			ctl = new FifoIn(loop, Dir.Ctl(root),
				b => ctlLines.Feed(b, l => FifoLine(null, l), e => log("ctl: " + e)),
				() => ctlLines.End(l => FifoLine(null, l)));
			// The keeper starts before the file view is mounted, so that it
			// holds no descriptor of the mount.
			if (keeper is not null)
			{
				commands.Keeper = new KeeperLink(root, keeper, loop, log, () => commands.Maps);
				kept = commands.Keeper.Open();
			}
			if (files is not null)
				commands.Files = Mount(files);
			commands.Recover(kept);
		}
		catch
		{
			// Nothing of a pagerd that could not start is left but the
			// maps a keeper holds for the next one.
			keepAll = kept.Count > 0;
			Dispose();
			throw;
		}
	}

	/// The file view on dir; without it (no libfuse3, no /dev/fuse, no
	/// fusermount3, a mount refused) pagerd serves as before, and says so
	/// once.
	FileView? Mount(string dir)
	{
		try
		{
			FuseSession.Unstale(dir, log);
			Posix.Mkdir(dir, 0x1c0);
			PathGuard.Mounting(dir);
			return new FileView(dir, loop, log);
		}
		catch (SysException e)
		{
			PathGuard.Mounting(null);
			Posix.Rmdir(dir);
			log($"no file view: {e.Message}");
			return null;
		}
	}

	/// Makes the namespace directory, refusing one another pagerd serves
	/// and one that other users could reach into: a symbolic link, or a
	/// directory of another owner or open to others.
	static void Claim(string root)
	{
		Posix.Mkdir(root, 0x1c0);
		var st = Posix.Lstat(root);
		uint me = Posix.Geteuid();
		if (st.IsLink || !st.IsDir)
			throw new CtlException($"the namespace is {(st.IsLink ? "a symbolic link" : "not a directory")}: refusing it");
		if (st.Uid != me)
			throw new CtlException($"the namespace belongs to uid {st.Uid}, not to uid {me}: refusing it");
		if ((st.Mode & 0x3f) != 0)
			throw new CtlException($"the namespace has mode {Convert.ToString(st.Mode, 8)}, which lets other users in: refusing it (chmod 700 it)");
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

	public void Run() => loop.Run(100, Tick, log);

	/// Safe from a signal handler.
	public void Stop() => loop.Stop();

	void Tick()
	{
		if (!accepting)
		{
			accepting = true;
			loop.Modify(listen, Epoll.In);
		}
		commands.Tick();
	}

	void Accept()
	{
		for (;;)
		{
			int fd;
			try
			{
				fd = UnixSocket.Accept(listen);
			}
			catch (SysException e)
			{
				// Out of descriptors, say: stop listening until the next
				// tick rather than spin on a socket that stays readable.
				log($"socket: {e.Message}; not accepting until the next tick");
				accepting = false;
				loop.Modify(listen, 0);
				return;
			}
			if (fd < 0)
				return;
			if (Descriptors.ShortForPeer("connection refused") is { } why)
			{
				Refuse(fd, why);
				continue;
			}
			int pid = Admit(fd);
			if (pid < 0)
				continue;
			Posix.SetNonblock(fd, true);
			var p = new Peer(fd, pid, loop, SocketLine, Closed);
			peers.Add(p);
			loop.Add(fd, Epoll.In, p.Ready);
		}
	}

	/// The process that connected, if it is pagerd's own user's; one of
	/// another user is told why and dropped (-1).
	int Admit(int fd)
	{
		var (pid, uid) = UnixSocket.Peer(fd);
		uint me = Posix.Geteuid();
		if (uid == me)
			return pid;
		Refuse(fd, $"refused: uid {uid} (pid {pid}) is not uid {me}, whose pagerd this is");
		return -1;
	}

	/// Tells a connection why it is refused, and closes it.
	void Refuse(int fd, string why)
	{
		log("socket: " + why);
		try
		{
			UnixSocket.Send(fd, System.Text.Encoding.UTF8.GetBytes(Wire.Err(why)));
		}
		catch (SysException)
		{
		}
		Posix.Close(fd);
	}

	/// A line on the socket: answered with its reply, or with err.
	void SocketLine(Peer p, string line)
	{
		Answer? a;
		try
		{
			a = commands.Run(Cmdtab.Parse(line, From.Socket), p);
		}
		catch (Exception e)
		{
			p.Fail(Boundary.Why(e, log));
			return;
		}
		if (a is not null)
			p.Reply(a.Lines, a.PassFd);
	}

	/// A line written to a ctl FIFO: there is no one to answer, so
	/// failures go to the log and, for a map's own ctl, to its errors.
	void FifoLine(Map? m, string line)
	{
		try
		{
			commands.Run(Cmdtab.Parse(line, From.Fifo), null);
		}
		catch (Exception e)
		{
			var why = Boundary.Why(e, log);
			if (m is not null)
				m.BadInput($"ctl: {why}");
			else
				log($"ctl: {why}");
		}
	}

	/// A map's ctl FIFO takes the same messages with the map's name left out.
	void MapCtl(Map m, string line)
	{
		var f = Fields.Split(line, 1, out var rest);
		if (f.Count == 0)
			return;
		FifoLine(m, $"{f[0]} {Fields.Quote(m.Name)} {rest}");
	}

	void Closed(Peer p)
	{
		if (p.Dropped is not null)
			log($"socket: dropped a peer: {p.Dropped}");
		commands.Detach(p);
		peers.Remove(p);
		loop.Remove(p.Fd);
		Posix.Close(p.Fd);
	}

	/// Before exiting: writes back what it can, for up to wait, and says
	/// what it could not.
	public void WriteBackAll(TimeSpan wait)
	{
		var busy = commands.Maps.Where(m => m.DirtyPages + m.Writing > 0).ToList();
		if (busy.Count == 0)
			return;
		int left = busy.Count;
		foreach (var m in busy)
			m.Sync(f =>
			{
				left--;
				f.ForEach(l => log($"map {m.Name}: not written back: {l}"));
			});
		loop.Run(100, Tick, log, () => left == 0, Environment.TickCount64 + (long)wait.TotalMilliseconds);
		keepAll = busy.Any(m => m.DirtyPages + m.Writing > 0);
		foreach (var m in busy.Where(m => m.DirtyPages + m.Writing > 0))
			log($"map {m.Name}: {m.DirtyPages + m.Writing} dirty pages not written back before exit; " +
				(commands.Keeper is null ? "lost" : "the keeper holds them for the next pagerd"));
	}

	/// Maps are left dirty by WriteBackAll, or were handed back to a
	/// pagerd that could not start: the keeper keeps every map for the
	/// next pagerd instead of letting go.
	bool keepAll;

	public void Dispose()
	{
		if (!keepAll)
			commands.Keeper?.Bye();
		commands.Keeper?.Dispose();
		foreach (var p in peers.ToList())
			p.Close();
		if (commands.Files is { } f)
		{
			f.Dispose();
			Posix.Rmdir(f.Dir);
		}
		commands.Dispose();
		ctl?.Dispose();
		if (listen >= 0)
		{
			loop.Remove(listen);
			Posix.Close(listen);
		}
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
