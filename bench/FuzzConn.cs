using System.Text;
using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Bench;

/// A raw connection to pagerd's socket, for input no well-behaved client
/// sends: bytes with descriptors on any of them, lines cut anywhere. Every
/// wait for an answer is bounded.
sealed class FuzzConn : IDisposable
{
	public readonly int Fd;
	readonly LineBuffer lines = new();
	readonly Queue<string> got = new();
	readonly Queue<int> fds = new();
	readonly byte[] buf = new byte[16 << 10];
	public bool Eof { get; private set; }

	public FuzzConn(string root) => Fd = UnixSocket.Connect(Dir.Socket(root));

	public void Send(byte[] b, params int[] pass)
	{
		// One descriptor rides on each byte, from the first: so several
		// reach pagerd with one line, or with the bytes of several.
		int i = 0;
		foreach (var fd in pass)
			if (i < b.Length)
				UnixSocket.Send(Fd, b.AsSpan(i++, 1), fd);
		if (i < b.Length)
			UnixSocket.Send(Fd, b.AsSpan(i));
	}

	public void Send(string line, params int[] pass) => Send(Encoding.UTF8.GetBytes(line + "\n"), pass);

	/// The next line pagerd sends that is not a note; null when none comes
	/// in ms or the connection ends.
	public string? Line(int ms)
	{
		var end = Environment.TickCount64 + ms;
		while (got.Count == 0 && !Eof)
		{
			long left = end - Environment.TickCount64;
			if (left <= 0 || !Posix.Poll(Fd, Posix.POLLIN, (int)left))
				return null;
			var f = new List<int>();
			int n = UnixSocket.Receive(Fd, buf, f);
			f.ForEach(fds.Enqueue);
			if (n <= 0)
				Eof = n == 0;
			else
				lines.Feed(buf.AsSpan(0, n), l =>
				{
					if (Wire.NoteText(l) is null)
						got.Enqueue(l);
				}, e => got.Enqueue("malformed: " + e)); // a client would drop it, and wait
		}
		return got.TryDequeue(out var l) ? l : null;
	}

	/// A whole answer: `ok N` and its N lines, or `err ...` alone; null
	/// if it does not come whole in ms. A descriptor that came with it is
	/// taken by fd (-1 if none).
	public List<string>? Answer(int ms, out int fd)
	{
		fd = -1;
		var head = Line(ms);
		if (head is null)
			return null;
		var a = new List<string> { head };
		if (head.StartsWith("ok ") && int.TryParse(head.AsSpan(3), out int n) && n is >= 0 and < 100_000)
			for (int i = 0; i < n; i++)
			{
				var l = Line(ms);
				if (l is null)
					return null;
				a.Add(l);
			}
		else if (!head.StartsWith("err "))
			a[0] = "malformed: " + head;
		if (fds.TryDequeue(out int f))
			fd = f;
		return a;
	}

	public void Dispose()
	{
		Posix.Close(Fd);
		while (fds.TryDequeue(out int f))
			Posix.Close(f);
	}
}
