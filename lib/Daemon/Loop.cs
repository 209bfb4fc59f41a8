using Pager.Kernel;
using Tmds.Linux;

namespace Pager.Daemon;

/// pagerd's one event loop: descriptors in an epoll set, each with its
/// handler, plus a tick for the things no descriptor announces.
public sealed unsafe class Loop : IDisposable
{
	readonly Epoll ep = new();
	readonly Dictionary<int, Action<uint>> handlers = [];
	readonly List<Action> later = [];
	readonly int wake;
	volatile bool stopping;

	public Loop()
	{
		wake = Sys.Check(LibC.eventfd(0, LibC.EFD_CLOEXEC | LibC.EFD_NONBLOCK), "eventfd");
		Add(wake, Epoll.In, _ => Drain());
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
	public void Run(int tickMs, Action tick) => Run(tickMs, tick, () => stopping, long.MaxValue);

	/// Runs until done says so or the deadline (TickCount64) passes.
	public void Run(int tickMs, Action tick, Func<bool> done, long deadline)
	{
		Span<epoll_event> evs = stackalloc epoll_event[64];
		long next = Environment.TickCount64 + tickMs;
		while (!done() && Environment.TickCount64 < deadline)
		{
			int n = ep.Wait(evs, (int)Math.Max(0, next - Environment.TickCount64));
			for (int i = 0; i < n && !done(); i++)
				if (handlers.TryGetValue((int)evs[i].data.u64, out var h))
					h((uint)evs[i].events);
			RunLater();
			if (Environment.TickCount64 >= next)
			{
				tick();
				RunLater();
				next = Environment.TickCount64 + tickMs;
			}
		}
	}

	void RunLater()
	{
		for (int i = 0; i < later.Count; i++)
			later[i]();
		later.Clear();
	}

	/// Safe from any thread or signal handler.
	public void Stop()
	{
		stopping = true;
		ulong one = 1;
		LibC.write(wake, &one, sizeof(ulong));
	}

	void Drain()
	{
		ulong v;
		LibC.read(wake, &v, sizeof(ulong));
	}

	public void Dispose()
	{
		ep.Dispose();
		LibC.close(wake);
	}
}
