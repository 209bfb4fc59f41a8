using System.Text;
using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Daemon;

/// pagerd's end of one connection on its socket: a client that attached
/// maps, or mapctl. Requests are lines; replies and notes are formatted
/// by Wire.
public sealed class Peer(int fd, Action<Peer, string> onLine, Action<Peer> onClose)
{
	public readonly int Fd = fd;
	public readonly List<Attachment> Attached = [];
	/// The mode each map was attached with here, ro being true: its uffd takes it.
	public readonly Dictionary<string, bool> Modes = [];
	readonly List<int> fds = [];
	readonly LineBuffer lines = new();
	readonly byte[] buf = new byte[16 << 10];
	public bool Closed { get; private set; }

	public void Ready(uint events)
	{
		for (;;)
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
			lines.Feed(buf.AsSpan(0, n), l => onLine(this, l), e =>
			{
				Fail(e);
				Close();
			});
			if (Closed || n < buf.Length)
				return;
		}
	}

	/// The descriptor that came with the request being handled.
	public int TakeFd()
	{
		if (fds.Count == 0)
			return -1;
		int fd = fds[0];
		fds.RemoveAt(0);
		return fd;
	}

	public void Reply(IReadOnlyList<string> body, int passFd = -1) => Send(Wire.Ok(body), passFd);

	public void Fail(string message) => Send(Wire.Err(message));

	public void Note(string text) => Send(Wire.Note(text));

	void Send(string s, int passFd = -1)
	{
		if (Closed)
			return;
		try
		{
			UnixSocket.Send(Fd, Encoding.UTF8.GetBytes(s), passFd);
		}
		catch (SysException)
		{
			Close();
		}
	}

	public void Close()
	{
		if (Closed)
			return;
		Closed = true;
		foreach (var fd in fds)
			Posix.Close(fd);
		fds.Clear();
		onClose(this);
	}
}
