namespace Pager.Protocol;

/// A control line parsed against its verb's grammar: the values by the
/// names the grammar gives them, and the fields.
public sealed class Ctl(Cmd cmd, string line)
{
	public readonly Cmd Cmd = cmd;
	public readonly string Line = line;
	public readonly Dictionary<string, string> Values = [];
	public KeyValues Fields = [];

	/// A value the grammar requires, or one that may be left out (null).
	public string this[string name] => Values[name];
	public string? Maybe(string name) => Values.GetValueOrDefault(name);
	public bool Has(string word) => Values.ContainsKey(word);
}
