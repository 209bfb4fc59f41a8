using System.Globalization;

namespace Pager.Sources;

/// redis:tcp!HOST!PORT[,tcp!HOST!PORT...]/PREFIX: a Redis Cluster's seed
/// nodes and the key prefix a map's bytes are kept under, and the names
/// of those keys. Map bytes n×Chunk to (n+1)×Chunk are the string at key
/// PREFIX:n. The key carries no hash tag, so the cluster hashes all of
/// it: consecutive chunks land on unrelated slots, and a map spreads over
/// every master. (A hash tag on the prefix would put the whole map on one
/// slot, so one master; braces are refused in the prefix for that reason.)
public sealed record RedisSpec(IReadOnlyList<(string Host, int Port)> Seeds, string Prefix)
{
	public const string Scheme = "redis:";
	/// Bytes per key: sixteen pages, so a 2 MiB read-ahead is 32 keys.
	public const int Chunk = 64 << 10;
	const string Want = "want redis:tcp!HOST!PORT[,tcp!HOST!PORT...]/PREFIX";

	public static bool Is(string source) => source.StartsWith(Scheme, StringComparison.Ordinal);

	/// The key holding chunk n.
	public string Key(long n) => $"{Prefix}:{n}";

	/// A node's name in messages: tcp!HOST!PORT, as 9p: writes it.
	public static string Node(string host, int port) => $"tcp!{host}!{port}";

	/// The seeds in messages.
	public string Nodes => string.Join(',', Seeds.Select(s => Node(s.Host, s.Port)));

	public override string ToString() => $"{Scheme}{Nodes}/{Prefix}";

	public static RedisSpec Parse(string source)
	{
		if (!Is(source))
			throw Bad(source, null);
		string s = source[Scheme.Length..];
		int slash = s.IndexOf('/');
		if (slash < 0)
			throw Bad(source, "no prefix");
		var seeds = new List<(string, int)>();
		foreach (var seed in s[..slash].Split(','))
		{
			string[] f = seed.Split('!');
			if (f.Length != 3 || f[0] != "tcp")
				throw Bad(source, $"bad node '{seed}'");
			if (f[1].Length == 0)
				throw Bad(source, "no host");
			if (!int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port < 1 || port > 65535)
				throw Bad(source, $"bad port '{f[2]}'");
			seeds.Add((f[1], port));
		}
		string prefix = s[(slash + 1)..];
		if (prefix.Length == 0)
			throw Bad(source, "no prefix");
		foreach (char c in prefix)
			if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':' or '/'))
				throw Bad(source, c is '{' or '}'
					? "braces in the prefix would make a hash tag, putting the map on one node"
					: $"'{c}' in the prefix (letters, digits and . _ - : / only)");
		return new RedisSpec(seeds, prefix);
	}

	static ArgumentException Bad(string source, string? why) =>
		new(why is null ? $"bad redis address '{source}': {Want}" : $"bad redis address '{source}': {why}; {Want}");
}
