using System.Globalization;
using Pager.Protocol;

namespace Pager.NineP;

/// Where a file lives on a 9P server: 9p:tcp!HOST!PORT/PATH.
/// PATH is relative to the attach name (the export), given separately.
public sealed record Dial(string Host, int Port, string Path)
{
	public const string Prefix = "9p:";

	/// The network address in Plan 9 form: tcp!HOST!PORT.
	public string Address => $"tcp!{Host}!{Port}";

	/// The path's elements, for Twalk.
	public string[] Elems => Path.Split('/', StringSplitOptions.RemoveEmptyEntries);

	public override string ToString() => $"{Prefix}{Address}/{Path}";

	/// Whether a source word names a 9P file rather than a local one.
	public static bool Is(string source) => source.StartsWith(Prefix, StringComparison.Ordinal);

	public static Dial Parse(string source)
	{
		if (!Is(source))
			throw Bad(source, null);
		string s = source[Prefix.Length..];
		int slash = s.IndexOf('/');
		if (slash < 0)
			throw Bad(source, "no path");
		string[] f = s[..slash].Split('!');
		if (f.Length != 3 || f[0] != "tcp")
			throw Bad(source, null);
		if (f[1].Length == 0)
			throw Bad(source, "no host");
		if (!int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port < 1 || port > 65535)
			throw Bad(source, $"bad port '{f[2]}'");
		string[] elems = s[(slash + 1)..].Split('/', StringSplitOptions.RemoveEmptyEntries);
		if (elems.Length == 0)
			throw Bad(source, "no path");
		// Twalk would accept these, but a server need not keep ".." inside the export.
		foreach (var e in elems)
			if (e is "." or "..")
				throw Bad(source, $"'{e}' in path");
		return new Dial(f[1], port, string.Join('/', elems));
	}

	static ProtocolException Bad(string source, string? why) =>
		new(why is null
			? $"bad 9p address '{source}': want 9p:tcp!HOST!PORT/PATH"
			: $"bad 9p address '{source}': {why}; want 9p:tcp!HOST!PORT/PATH");
}
