using System.Text;

namespace Pager.Protocol;

/// Splits bytes into text lines of at most a page, for ctl FIFOs.
public sealed class LineBuffer
{
	readonly List<byte> cur = [];
	bool skipping;

	public void Feed(ReadOnlySpan<byte> b, Action<string> onLine, Action<string> onError)
	{
		foreach (var c in b)
		{
			if (c != '\n')
			{
				if (!skipping && cur.Count >= Decoder.MaxLine)
				{
					onError($"control line longer than {Decoder.MaxLine} bytes");
					cur.Clear();
					skipping = true;
				}
				if (!skipping)
					cur.Add(c);
				continue;
			}
			if (!skipping && cur.Count > 0)
				onLine(Encoding.UTF8.GetString(cur.ToArray()));
			cur.Clear();
			skipping = false;
		}
	}

	/// At end of input a last line without its newline still counts,
	/// as `echo -n` writes one.
	public void End(Action<string> onLine)
	{
		if (cur.Count > 0 && !skipping)
			onLine(Encoding.UTF8.GetString(cur.ToArray()));
		cur.Clear();
		skipping = false;
	}
}
