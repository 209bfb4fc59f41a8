namespace Pager.Protocol;

/// The keeper's protocol, between pagerd and the process that holds its
/// descriptors across a restart (pagerd(8), "Restarts"): one line a
/// message on a Unix socket, a descriptor riding on some of them.
///
///	keep KEY TEXT	(with a descriptor) hold it under KEY, with TEXT
///	drop KEY	close what KEY holds
///	give		send everything held: a kept line for each, then end
///	bye		close everything and exit
///	kept KEY TEXT	(with a descriptor) one thing held, in answer to give
///	end		the last answer to give
///
/// KEY is one field, quoted as Fields quotes; TEXT is the rest of the
/// line, which the keeper keeps without reading it.
public readonly record struct KeepLine(string Verb, string Key, string Text)
{
	public static readonly string[] Verbs = ["keep", "drop", "give", "bye", "kept", "end"];

	public static string Keep(string key, string text) => $"keep {Fields.Quote(key)} {text}";
	public static string Kept(string key, string text) => $"kept {Fields.Quote(key)} {text}";
	public static string Drop(string key) => $"drop {Fields.Quote(key)}";
	public const string Give = "give", Bye = "bye", End = "end";

	/// A line of either side; a verb it does not know, or one missing its
	/// key, is a ProtocolException quoting the line.
	public static KeepLine Parse(string line)
	{
		var f = Fields.Split(line, 2, out var rest);
		if (f.Count == 0 || !Verbs.Contains(f[0]))
			throw new ProtocolException($"keeper: bad line '{Protocol.Parse.Clip(line)}'");
		bool keyed = f[0] is "keep" or "drop" or "kept";
		if (keyed != (f.Count == 2) || (!keyed && rest != ""))
			throw new ProtocolException($"keeper: bad line '{Protocol.Parse.Clip(line)}'");
		return new KeepLine(f[0], keyed ? f[1] : "", rest);
	}
}
