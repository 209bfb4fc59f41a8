using System.Globalization;

namespace Pager.Protocol;

/// Numbers in the protocol and in control messages.
public static class Num
{
	/// A non-negative number: decimal, or hex with 0x.
	public static long Parse(ReadOnlySpan<char> s, string what) =>
		TryParse(s, out long v) ? v : throw new ProtocolException($"bad {what} '{s}'");

	static bool TryParse(ReadOnlySpan<char> s, out long v)
	{
		bool ok = s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
			? long.TryParse(s[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out v)
			: long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out v);
		return ok && v >= 0;
	}

	/// A size: a number with an optional k, m, g or t suffix (powers of 1024).
	public static long Size(string s, string what)
	{
		if (s.Length == 0)
			throw new ProtocolException($"bad {what} ''");
		int shift = char.ToLowerInvariant(s[^1]) switch { 'k' => 10, 'm' => 20, 'g' => 30, 't' => 40, _ => 0 };
		if (!TryParse(shift == 0 ? s : s.AsSpan(0, s.Length - 1), out long v))
			throw new ProtocolException($"bad {what} '{s}'");
		if (shift > 0 && v > long.MaxValue >> shift)
			throw new ProtocolException($"bad {what} '{s}': too large");
		return v << shift;
	}

	/// A duration: a number with ms, s, m or h; a bare number is seconds.
	public static TimeSpan Duration(string s, string what)
	{
		string[] units = ["ms", "s", "m", "h"];
		string u = units.FirstOrDefault(x => s.EndsWith(x) && (x != "s" || !s.EndsWith("ms")) && s.Length > x.Length) ?? "";
		if (!TryParse(s.AsSpan(0, s.Length - u.Length), out long n))
			throw new ProtocolException($"bad {what} '{s}'");
		try
		{
			return u switch
			{
				"ms" => TimeSpan.FromMilliseconds(n),
				"m" => TimeSpan.FromMinutes(n),
				"h" => TimeSpan.FromHours(n),
				_ => TimeSpan.FromSeconds(n),
			};
		}
		catch (Exception e) when (e is OverflowException or ArgumentOutOfRangeException)
		{
			throw new ProtocolException($"bad {what} '{s}': too large");
		}
	}

	/// A size as people write it: 4096 → 4k, 67108864 → 64m.
	public static string SizeString(long v)
	{
		string[] suffix = ["", "k", "m", "g", "t"];
		int i = 0;
		while (i < 4 && v != 0 && v % 1024 == 0)
		{
			v /= 1024;
			i++;
		}
		return v.ToString(CultureInfo.InvariantCulture) + suffix[i];
	}
}
