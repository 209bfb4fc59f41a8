namespace Pager.Protocol;

/// A map's status: one line a field, "key value", the value the rest of
/// the line. The one formatter and parser, for pagerd's stat reply and
/// status FIFO, mapctl, and the tests.
public static class Status
{
	public static IEnumerable<string> Lines(IEnumerable<(string Key, string Value)> fields) =>
		fields.Select(f => $"{f.Key} {f.Value.Replace('\n', ' ')}");

	public static string Text(IEnumerable<(string Key, string Value)> fields) =>
		string.Concat(Lines(fields).Select(l => l + "\n"));

	/// The fields of status lines; a line without a value, or a key given
	/// twice, is an error quoting it.
	public static Dictionary<string, string> Parse(IEnumerable<string> lines)
	{
		var d = new Dictionary<string, string>();
		foreach (var l in lines.Where(l => l.Length > 0))
		{
			int sp = l.IndexOf(' ');
			if (sp <= 0)
				throw new ProtocolException($"bad status line '{Protocol.Parse.Clip(l)}' (want key value)");
			if (!d.TryAdd(l[..sp], l[(sp + 1)..]))
				throw new ProtocolException($"status key '{l[..sp]}' given twice");
		}
		return d;
	}

	public static Dictionary<string, string> Parse(string text) => Parse(text.Split('\n'));
}
