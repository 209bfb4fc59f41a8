using System.Text;
using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Daemon;

/// pagerd's end of one connection on its socket: a client that attached
/// maps, or mapctl. Requests are lines; the descriptors that come with a
/// line's first byte are that line's, and closed after it if it did not
/// take them. Replies and notes, formatted by Wire, are queued and sent
/// as the peer reads them, never waiting in the loop: a peer that lets
/// more than MaxQueued pile up is not reading and is dropped; a note
/// finding more than MaxNotes queued is left out (the map's errors
/// keep it).
public sealed class Peer(int fd, int pid, Loop loop, Action<Peer, string> onLine, Action<Peer> onClose)
{
	const int MaxQueued = 4 << 20, MaxNotes = 256 << 10;

	public readonly int Fd = fd;
	/// The process that connected (SO_PEERCRED).
	public readonly int Pid = pid;
	public readonly List<Attachment> Attached = [];
	/// The mode each map was attached with here, ro being true: its uffd takes it.
	public readonly Dictionary<string, bool> Modes = [];
	readonly List<int> fds = [];
	readonly LineBuffer lines = new();
	readonly byte[] buf = new byte[16 << 10];
	readonly Queue<Outgoing> queue = new();
	long queued;
	bool waitingRoom;
	public bool Closed { get; private set; }
	/// Why pagerd dropped the peer, if it did.
	public string? Dropped { get; private set; }

	/// Bytes to send, and the descriptor that rides on the first of them
	/// (the peer's to close once sent).
	sealed class Outgoing(byte[] bytes, int passFd)
	{
		public readonly byte[] Bytes = bytes;
		public int Sent;
		public int PassFd = passFd;
	}

	public void Ready(uint events)
	{
		if ((events & Epoll.Out) != 0)
			Flush();
		while (!Closed)
		{
			int n;
			try
			{
				n = UnixSocket.Receive(Fd, buf, fds);
			}
			catch (SysException)
			{
				n = 0;
			}
			if (n < 0)
				return;
			if (n == 0)
			{
				Close();
				return;
			}
			// An overlong line is answered err and skipped to its end.
			lines.Feed(buf.AsSpan(0, n), Line, Fail);
			if (n < buf.Length)
				return;
		}
	}

	void Line(string l)
	{
		if (Closed)
			return;
		onLine(this, l);
		foreach (var f in fds)
			Posix.Close(f);
		fds.Clear();
	}

	/// The descriptor that came with the line being handled.
	public int TakeFd()
	{
		if (fds.Count == 0)
			return -1;
		int fd = fds[0];
		fds.RemoveAt(0);
		return fd;
	}

	/// Answers the line being handled; passFd, if not -1, is the peer's
	/// from now on.
	public void Reply(IReadOnlyList<string> body, int passFd = -1) => Send(Wire.Ok(body), passFd);

	public void Fail(string message) => Send(Wire.Err(message));

	public void Note(string text)
	{
		if (queued <= MaxNotes)
			Send(Wire.Note(text));
	}

	void Send(string s, int passFd = -1)
	{
		if (Closed)
		{
			Posix.Close(passFd);
			return;
		}
		var o = new Outgoing(Encoding.UTF8.GetBytes(s), passFd);
		queue.Enqueue(o);
		queued += o.Bytes.Length;
		if (queued > MaxQueued)
		{
			Dropped = $"it left more than {MaxQueued >> 20} MiB of replies unread";
			Close();
			return;
		}
		if (queue.Count == 1)
			Flush();
	}

	/// Sends what the socket takes now; waits for room (EPOLLOUT) for
	/// the rest.
	void Flush()
	{
		while (!Closed && queue.TryPeek(out var o))
		{
			int n;
			try
			{
				n = UnixSocket.TrySend(Fd, o.Bytes.AsSpan(o.Sent), o.PassFd);
			}
			catch (SysException)
			{
				Close();
				return;
			}
			if (n < 0)
			{
				if (!waitingRoom)
					loop.Modify(Fd, Epoll.In | Epoll.Out);
				waitingRoom = true;
				return;
			}
			Posix.Close(o.PassFd);
			o.PassFd = -1;
			o.Sent += n;
			queued -= n;
			if (o.Sent == o.Bytes.Length)
				queue.Dequeue();
		}
		if (waitingRoom && !Closed)
			loop.Modify(Fd, Epoll.In);
		waitingRoom = false;
	}

	public void Close()
	{
		if (Closed)
			return;
		Closed = true;
		foreach (var f in fds)
			Posix.Close(f);
		fds.Clear();
		foreach (var o in queue)
			Posix.Close(o.PassFd);
		queue.Clear();
		onClose(this);
	}
}
