namespace Pager.Daemon;

/// A map's errors: the last hundred kept for `err`, each logged, and told
/// to the attached clients on their control connections.
public sealed class ErrorLog(string map, Action<string> log)
{
	const int Kept = 100;
	/// An error's text is cut to this many characters, so that every line
	/// carrying it (an `err` reply, a note) stays within a protocol line
	/// (4096 bytes) however long the input it quotes.
	const int MaxText = 1024;
	readonly Queue<ErrorEntry> kept = new();

	public long Count { get; private set; }
	public IEnumerable<ErrorEntry> Entries => kept;

	/// Records an error on [off, off+len); tell lists whom to send it to.
	public void Record(long off, long len, string text, IEnumerable<Peer> tell)
	{
		Count++;
		if (text.Length > MaxText)
			text = text[..(MaxText - 3)] + "...";
		kept.Enqueue(new ErrorEntry(DateTime.UtcNow, off, len, text));
		if (kept.Count > Kept)
			kept.Dequeue();
		log($"map {map}: {off} {len}: {text}");
		// A note that fails closes its connection, which detaches its
		// clients: walk a copy.
		foreach (var c in tell.Distinct().ToList())
			c.Note($"error {map} {off} {len} {text}");
	}
}
