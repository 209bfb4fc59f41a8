namespace Pager.Protocol;

/// key=value fields, in the order given: the one parser of them, for the
/// options of `new` and `set`, the fields of `attach` and `uffd`, the
/// attach reply, and the trailing fields of pager messages.
public sealed class KeyValues : List<KeyValuePair<string, string>>
{
	/// Parses words of the form key=value. A word without '=', with an
	/// empty key, or with a key given twice is an error naming it.
	public static KeyValues Parse(IEnumerable<string> words, string what = "field") => Parse([.. words], 0, what);

	/// Parses words[from..].
	public static KeyValues Parse(List<string> words, int from, string what = "field")
	{
		var kv = new KeyValues();
		for (int i = from; i < words.Count; i++)
		{
			var w = words[i];
			int eq = w.IndexOf('=');
			if (eq <= 0)
				throw new ProtocolException($"bad {what} '{Protocol.Parse.Clip(w)}' (want key=value)");
			var key = w[..eq];
			if (kv.Get(key) is not null)
				throw new ProtocolException($"{what} '{Protocol.Parse.Clip(key)}' given twice");
			kv.Add(new(key, w[(eq + 1)..]));
		}
		return kv;
	}

	/// The value of key, or null.
	public string? Get(string key)
	{
		foreach (var kv in this)
			if (kv.Key == key)
				return kv.Value;
		return null;
	}

	/// The value of key, which must be there.
	public string Need(string key, string what) =>
		Get(key) ?? throw new ProtocolException($"{what}: no {key}= field");

	/// One field as a word of a line, quoted if it needs it.
	public static string Word(string key, string value) => Fields.Quote(key + "=" + value);

	public override string ToString() => string.Join(' ', this.Select(kv => Word(kv.Key, kv.Value)));
}
