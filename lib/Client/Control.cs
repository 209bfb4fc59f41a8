using System.Collections.Concurrent;
using System.Text;
using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Client;

/// A connection to pagerd's socket: requests and their replies, and the
/// notes pagerd sends unasked (errors on attached maps).
public sealed class Control : IDisposable
{
	readonly int fd;
	readonly BlockingCollection<string> replies = new();
	readonly ConcurrentQueue<int> fds = new();
	readonly Thread reader;
	readonly object callLock = new();
	volatile bool closing;

	/// Called on the reader thread for each note, without the "note ".
	public event Action<string>? Note;
	/// Called on the reader thread when pagerd closes the connection.
	public event Action? Lost;

	public static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30);

	/// Whether a pagerd serves root: it answers ls.
	public static bool Answers(string root)
	{
		try
		{
			using var c = new Control(root);
			c.Call("ls");
			return true;
		}
		catch (PagerException)
		{
			return false;
		}
	}

	public Control(string? root = null)
	{
		root ??= Dir.Root();
		try
		{
			fd = UnixSocket.Connect(Dir.Socket(root));
		}
		catch (SysException e)
		{
			throw new PagerException($"cannot reach pagerd at {root}: {e.Message}");
		}
		reader = new Thread(Read) { IsBackground = true, Name = "pager control" };
		reader.Start();
	}

	public bool Connected => !replies.IsAddingCompleted;

	/// Sends a request and returns the lines of its reply; err replies
	/// throw PagerException with pagerd's text.
	public List<string> Call(string request, int passFd = -1) => Call(request, passFd, out _);

	public List<string> Call(string request, int passFd, out int gotFd) => Call(request, passFd, out gotFd, ReplyTimeout);

	public List<string> Call(string request, int passFd, out int gotFd, TimeSpan timeout)
	{
		lock (callLock)
		{
			gotFd = -1;
			try
			{
				UnixSocket.Send(fd, Encoding.UTF8.GetBytes(request + "\n"), passFd);
			}
			catch (SysException e)
			{
				// pagerd may have said why before it closed (a refused peer).
				throw new PagerException(Said(request) ?? $"pagerd: {e.Message}");
			}
			int n;
			try
			{
				n = Wire.Head(Take(request, timeout));
			}
			catch (PagerdError e)
			{
				throw new PagerException(e.Message);
			}
			catch (ProtocolException e)
			{
				throw new PagerException($"pagerd: {e.Message} to '{request}'");
			}
			var body = new List<string>(n);
			for (int i = 0; i < n; i++)
				body.Add(Take(request, timeout));
			if (fds.TryDequeue(out int f))
				gotFd = f;
			return body;
		}
	}

	/// The err pagerd sent before closing the connection, if it did.
	string? Said(string request)
	{
		try
		{
			Wire.Head(Take(request, ReplyTimeout));
		}
		catch (PagerdError e)
		{
			return e.Message;
		}
		catch (Exception e) when (e is PagerException or ProtocolException)
		{
		}
		return null;
	}

	string Take(string request, TimeSpan timeout)
	{
		try
		{
			if (replies.TryTake(out var l, timeout))
				return l;
		}
		catch (InvalidOperationException)
		{
		}
		throw new PagerException(replies.IsAddingCompleted
			? $"pagerd closed the connection during '{request}'"
			: $"pagerd did not answer '{request}' in {timeout.TotalSeconds}s");
	}

	void Read()
	{
		var buf = new byte[16 << 10];
		var got = new List<int>();
		var lines = new LineBuffer();
		for (;;)
		{
			int n;
			try
			{
				n = UnixSocket.Receive(fd, buf, got);
			}
			catch (SysException)
			{
				n = 0;
			}
			foreach (var f in got)
				fds.Enqueue(f);
			got.Clear();
			if (n <= 0)
				break;
			lines.Feed(buf.AsSpan(0, n), Line, _ => { });
		}
		replies.CompleteAdding();
		if (!closing)
			Lost?.Invoke();
	}

	void Line(string l)
	{
		if (Wire.NoteText(l) is { } note)
			Note?.Invoke(note);
		else
			replies.Add(l);
	}

	public void Dispose()
	{
		closing = true;
		UnixSocket.Shutdown(fd);
		reader.Join(TimeSpan.FromSeconds(5));
		Posix.Close(fd);
		while (fds.TryDequeue(out int f))
			Posix.Close(f);
	}
}
