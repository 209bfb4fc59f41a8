using System.Collections.Concurrent;

namespace Pager.Cmd;

/// The library's thread that calls programs' note functions, one note at
/// a time, in the order they came. It is not the thread that reads
/// pagerd's replies, so a note function may call pager_sync or
/// pager_detach.
static class Notes
{
	static readonly BlockingCollection<(Attached A, string Text)> queue = new();
	static readonly Thread thread = Start();

	static Thread Start()
	{
		var t = new Thread(Run) { IsBackground = true, Name = "pager notes" };
		t.Start();
		return t;
	}

	public static void Post(Attached a, string text)
	{
		_ = thread;
		queue.Add((a, text));
	}

	static void Run()
	{
		foreach (var (a, text) in queue.GetConsumingEnumerable())
			a.Deliver(text);
	}
}
