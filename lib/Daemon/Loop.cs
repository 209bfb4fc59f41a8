using Pager.Kernel;

namespace Pager.Daemon;

/// pagerd's one event loop: descriptors in an epoll set, each with its
/// handler, plus a tick for the things no descriptor announces. A handler
/// that throws is logged and the loop goes on: the handlers at the
/// boundaries answer their senders themselves (Boundary); this is the
/// last stop for what they did not expect.
public sealed class Loop : IDisposable
{
	readonly Epoll ep = new();
	readonly Dictionary<int, Action<uint>> handlers = [];
	readonly List<Action> later = [];
	readonly EventFd wake = new();
	readonly System.Collections.Concurrent.ConcurrentQueue<Action> posted = new();
	volatile bool stopping;

	public Loop() => Add(wake.Fd, Epoll.In, _ =>
	{
		wake.Drain();
		while (posted.TryDequeue(out var a))
			later.Add(a);
	});

	/// Runs a on the loop's thread, soon; safe from any thread (a read
	/// that was done on another thread hands back its bytes this way).
	public void Post(Action a)
	{
		posted.Enqueue(a);
		wake.Signal();
	}

	public void Add(int fd, uint events, Action<uint> handler)
	{
		handlers[fd] = handler;
		ep.Add(fd, events, (ulong)fd);
	}

	public void Modify(int fd, uint events) => ep.Modify(fd, events, (ulong)fd);

	/// Runs a once the events at hand are handled, so that what they
	/// produce (request lines, say) goes out in one write, not one each.
	public void Later(Action a) => later.Add(a);

	public void Remove(int fd)
	{
		if (handlers.Remove(fd))
			ep.Remove(fd);
	}

	/// Runs until Stop; tick is called at least every tickMs.
	public void Run(int tickMs, Action tick, Action<string> log) => Run(tickMs, tick, log, () => stopping, long.MaxValue);

	/// Runs until done says so or the deadline (TickCount64) passes.
	public void Run(int tickMs, Action tick, Action<string> log, Func<bool> done, long deadline)
	{
		long next = Environment.TickCount64 + tickMs;
		while (!done() && Environment.TickCount64 < deadline)
		{
			int n = ep.Wait((int)Math.Max(0, next - Environment.TickCount64));
			for (int i = 0; i < n && !done(); i++)
				if (handlers.TryGetValue((int)ep.Cookie(i), out var h))
					try
					{
						h(ep.Events(i));
					}
					catch (Exception e)
					{
						Boundary.Why(e, log);
					}
			RunLater(log);
			if (Environment.TickCount64 >= next)
			{
				Guard(tick, log);
				RunLater(log);
				next = Environment.TickCount64 + tickMs;
			}
		}
	}

	static void Guard(Action a, Action<string> log)
	{
		try
		{
			a();
		}
		catch (Exception e)
		{
			Boundary.Why(e, log);
		}
	}

	void RunLater(Action<string> log)
	{
		for (int i = 0; i < later.Count; i++)
			Guard(later[i], log);
		later.Clear();
	}

	/// Safe from any thread or signal handler.
	public void Stop()
	{
		stopping = true;
		wake.Signal();
	}

	public void Dispose()
	{
		ep.Dispose();
		wake.Dispose();
	}
}
