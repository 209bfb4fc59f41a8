using System.Collections.Concurrent;
using Pager.Kernel;
using Pager.Protocol;
using Tmds.Linux;

namespace Pager.Tests;

/// A pager played by the test: a thread that reads a map's fault FIFO and
/// answers through its fill FIFO with whatever answer returns (null: no
/// reply). The requests it saw are kept, in order. At the end of a
/// stream it opens fault again, as pagefill does, and a message cut short
/// there is dropped. What else goes wrong on its thread fails the test
/// when the pager is disposed of, rather than taking the test host down.
public sealed unsafe class FifoPager : IDisposable
{
	public readonly ConcurrentQueue<Msg> Seen = new();
	readonly Func<Msg, IEnumerable<byte[]>?> answer;
	readonly Thread thread;
	readonly string faultPath;
	int faultFd;
	readonly FileStream fill;
	volatile bool stop;
	volatile Exception? failure;

	public FifoPager(Pagerd d, string map, Func<Msg, IEnumerable<byte[]>?> answer)
	{
		this.answer = answer;
		// A non-blocking open for reading succeeds at once; pagerd sees the
		// reader on its next tick and starts writing.
		faultPath = d.Fault(map);
		faultFd = Posix.Open(faultPath, LibC.O_RDONLY | Posix.O_NONBLOCK);
		fill = new FileStream(d.Fill(map), FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 0);
		thread = new Thread(Run) { IsBackground = true, Name = "test pager" };
		thread.Start();
		Cmd.WaitFor(() => d.Get(map, "pager") == "yes", "pagerd to see the pager");
	}

	public int Count => Seen.Count;

	/// Something went wrong on its thread; Dispose says what.
	public bool Failed => failure is not null;

	void Run()
	{
		try
		{
			Serve();
		}
		catch (Exception e)
		{
			failure = e;
		}
	}

	void Serve()
	{
		var dec = new Decoder();
		var buf = new byte[64 << 10];
		while (!stop)
		{
			var p = new pollfd { fd = faultFd, events = LibC.POLLIN };
			if (LibC.poll(&p, 1, 50) <= 0)
				continue;
			int n = Posix.Read(faultFd, buf, "fault");
			if (n > 0)
				dec.Feed(buf.AsSpan(0, n), Handle, e => throw new InvalidOperationException("pagerd sent " + e));
			else if (Reopen())
				dec.End(_ => { });
			else
				Thread.Sleep(10); // pagerd closed its end for good; wait to be stopped
		}
	}

	/// At the end of a stream: fault again if pagerd made it afresh.
	bool Reopen()
	{
		if (Posix.TryLstat(faultPath) is not { } st || st.Ino == Posix.Fstat(faultFd, faultPath).Ino)
			return false;
		int f = Posix.TryOpen(faultPath, LibC.O_RDONLY | Posix.O_NONBLOCK);
		if (f < 0)
			return false;
		Posix.Close(faultFd);
		faultFd = f;
		return true;
	}

	void Handle(Msg m)
	{
		Seen.Enqueue(m);
		foreach (var frame in answer(m) ?? [])
			fill.Write(frame);
	}

	public static byte[] Line(string s) => System.Text.Encoding.UTF8.GetBytes(s + "\n");

	/// Safe to call twice: a test may make its pager go before the end.
	public void Dispose()
	{
		if (stop)
			return;
		stop = true;
		bool ended = thread.Join(Cmd.Timeout);
		Posix.Close(faultFd);
		fill.Dispose();
		if (failure is not null)
			throw new InvalidOperationException("the test's pager failed: " + failure.Message, failure);
		if (!ended)
			throw new TimeoutException("the test's pager did not stop");
	}
}
