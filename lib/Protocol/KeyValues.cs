namespace Pager.Protocol;

/// key=value fields, in the order given: the one parser of them, for the
/// options of `new` and `set`, the fields of `attach` and `uffd`, the
/// attach reply, and the trailing fields of pager messages.
public sealed class KeyValues : List<KeyValuePair<string, string>>
{
	/// Parses words of the form key=value. A word without '=', with an
	/// empty key, or with a key given twice is an error naming it.
	public static KeyValues Parse(IEnumerable<string> words, string what = "field")
	{
		var kv = new KeyValues();
		foreach (var w in words)
			kv.Take(w, what);
		return kv;
	}

	/// Adds the field in word, key=value.
	public void Take(ReadOnlySpan<char> word, string what = "field")
	{
		int eq = word.IndexOf('=');
		if (eq <= 0)
			throw new ProtocolException($"bad {what} '{Protocol.Parse.Clip(word.ToString())}' (want key=value)");
		var key = word[..eq];
		foreach (var kv in this)
			if (key.SequenceEqual(kv.Key))
				throw new ProtocolException($"{what} '{Protocol.Parse.Clip(key.ToString())}' given twice");
		Add(new(key.ToString(), word[(eq + 1)..].ToString()));
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
