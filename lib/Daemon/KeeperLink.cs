using System.Diagnostics;
using System.Text;
using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Daemon;

/// pagerd's connection to its keeper (Keeper). At start it finds the
/// keeper a pagerd before it left, and takes what it kept; or it starts
/// one. Each map made is kept, each map removed dropped, and a clean
/// exit says bye. A keeper that dies is started again and given every
/// map anew.
public sealed class KeeperLink : IDisposable
{
	/// One map as the keeper held it: its `new` line, memfd and page state.
	public sealed record Kept(string Definition, int Memfd, int Statefd);

	readonly string root;
	readonly string[] start;
	readonly Loop loop;
	readonly Action<string> log;
	readonly Func<IEnumerable<Map>> maps;
	int fd = -1;

	/// start: the command that runs a keeper for root; maps: every map,
	/// to keep again should the keeper die.
	public KeeperLink(string root, string[] start, Loop loop, Action<string> log, Func<IEnumerable<Map>> maps)
	{
		this.root = root;
		this.start = start;
		this.loop = loop;
		this.log = log;
		this.maps = maps;
	}

	/// What a keeper left by a pagerd that died still holds, taken from
	/// it; none, and a keeper started, when there was no such keeper.
	public List<Kept> Open()
	{
		fd = TryConnect();
		if (fd < 0)
		{
			Start();
			return [];
		}
		var kept = Give();
		Watch();
		return kept;
	}

	int TryConnect()
	{
		try
		{
			return UnixSocket.Connect(Dir.Keeper(root));
		}
		catch (SysException)
		{
			return -1;
		}
	}

	public void Keep(Map m)
	{
		Send(KeepLine.Keep("state/" + m.Name, ""), m.State.Fd);
		Send(KeepLine.Keep("mem/" + m.Name, m.Definition), m.Memory.Memfd);
	}

	public void Drop(Map m)
	{
		Send(KeepLine.Drop("mem/" + m.Name));
		Send(KeepLine.Drop("state/" + m.Name));
	}

	/// pagerd is exiting cleanly: the keeper lets everything go. It
	/// hangs up only after removing its socket, so pagerd waits for that
	/// (up to 5 s) before it removes the namespace the socket is in.
	public void Bye()
	{
		Send(KeepLine.Bye);
		if (fd >= 0 && !Posix.Poll(fd, Posix.POLLIN, 5000))
			log($"keeper: still there 5 s after bye; {Dir.Keeper(root)} may be left");
	}

	void Send(string line, int passFd = -1)
	{
		try
		{
			UnixSocket.Send(fd, Encoding.UTF8.GetBytes(line + "\n"), passFd);
		}
		catch (SysException e)
		{
			log($"keeper: {e.Message}");
		}
	}

	/// Starts a keeper and waits until it listens.
	void Start()
	{
		// Nothing of pagerd's goes with it, not even its standard output
		// (the keeper's runtime would keep a copy open past its own
		// redirection to /dev/null): whoever reads pagerd's output sees it
		// end when pagerd does.
		var psi = new ProcessStartInfo(start[0])
		{
			UseShellExecute = false,
			RedirectStandardInput = true,
			RedirectStandardOutput = true,
			RedirectStandardError = true,
		};
		foreach (var a in start[1..])
			psi.ArgumentList.Add(a);
		Posix.CloseOnExecFrom(3);
		using (var p = Process.Start(psi)!)
		{
			p.StandardInput.Close();
			p.StandardOutput.Close();
			p.StandardError.Close();
		}
		var deadline = Environment.TickCount64 + 10_000;
		while ((fd = TryConnect()) < 0)
		{
			if (Environment.TickCount64 > deadline)
				throw new SysException("connect", Errno.ETIMEDOUT, $"{Dir.Keeper(root)} (the keeper did not start in 10 s)");
			Thread.Sleep(20);
		}
		Watch();
	}

	/// The keeper never writes unasked: the socket turning readable means
	/// it has gone, and a new one must be given everything.
	void Watch() => loop.Add(fd, Epoll.In, _ =>
	{
		loop.Remove(fd);
		Posix.Close(fd);
		Start();
		foreach (var m in maps())
			Keep(m);
		log("keeper: gone; another keeps every map now");
	});

	/// Asks for everything and pairs each kept line with its descriptor,
	/// in the order they came.
	List<Kept> Give()
	{
		UnixSocket.Send(fd, Encoding.UTF8.GetBytes(KeepLine.Give + "\n"));
		var got = new Dictionary<string, (string Text, int Fd)>();
		var fds = new List<int>();
		var lines = new LineBuffer();
		var buf = new byte[16 << 10];
		bool end = false;
		while (!end)
		{
			if (!Posix.Poll(fd, Posix.POLLIN, 10_000))
				throw new SysException("keeper", Errno.ETIMEDOUT, $"{Dir.Keeper(root)} (no answer to give in 10 s)");
			int n = UnixSocket.Receive(fd, buf, fds);
			if (n <= 0)
				throw new SysException("keeper", Errno.ECONNRESET, $"{Dir.Keeper(root)} (closed before end)");
			lines.Feed(buf.AsSpan(0, n), l =>
			{
				var m = KeepLine.Parse(l);
				if (m.Verb == "end")
					end = true;
				else if (m.Verb == "kept" && fds.Count > 0)
				{
					got[m.Key] = (m.Text, fds[0]);
					fds.RemoveAt(0);
				}
			}, e => log($"keeper: {e}"));
		}
		fds.ForEach(Posix.Close);
		var kept = new List<Kept>();
		foreach (var (key, (text, memfd)) in got)
		{
			if (!key.StartsWith("mem/", StringComparison.Ordinal))
				continue;
			if (got.TryGetValue("state/" + key[4..], out var st))
				kept.Add(new Kept(text, memfd, st.Fd));
			else
			{
				log($"keeper: {key[4..]} came without its page state; not recovered");
				Posix.Close(memfd);
			}
		}
		foreach (var (key, (_, sfd)) in got)
			if (key.StartsWith("state/", StringComparison.Ordinal) && !got.ContainsKey("mem/" + key[6..]))
				Posix.Close(sfd);
		return kept;
	}

	public void Dispose()
	{
		if (fd < 0)
			return;
		loop.Remove(fd);
		Posix.Close(fd);
		fd = -1;
	}
}
