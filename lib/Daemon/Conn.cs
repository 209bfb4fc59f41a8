using System.Text;
using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Daemon;

/// pagerd's end of one connection on its socket: a client that attached
/// maps, or mapctl. Requests are lines; each gets `ok N` and N lines, or
/// `err MESSAGE`. Notes (`note ...`) come unasked, between replies.
public sealed class Conn(int fd, Action<Conn, string> onLine, Action<Conn> onClose)
{
	public readonly int Fd = fd;
	public readonly List<Attachment> Attached = [];
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
			lines.Feed(buf.AsSpan(0, n), l => onLine(this, l), _ => Close());
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

	public void Reply(IReadOnlyList<string> body, int passFd = -1)
	{
		var b = new StringBuilder($"ok {body.Count}\n");
		foreach (var l in body)
			b.Append(l).Append('\n');
		Send(b.ToString(), passFd);
	}

	public void Fail(string message) => Send($"err {message.Replace('\n', ' ')}\n");

	public void Note(string text) => Send($"note {text.Replace('\n', ' ')}\n");

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
