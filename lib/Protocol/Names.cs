namespace Pager.Protocol;

public static class Names
{
	/// Map names are single path elements: letters, digits, '.', '-', '_'.
	public static void CheckMap(string name)
	{
		if (!IsMap(name))
			throw new ProtocolException($"bad map name '{Parse.Clip(name)}'");
	}

	public static bool IsMap(string name) =>
		name.Length is > 0 and <= 64 && name[0] != '.' && name != "ctl" && name != "sock" && name != "mnt" && name != "keep"
		&& !name.AsSpan().ContainsAnyExcept(MapChars);

	static readonly System.Buffers.SearchValues<char> MapChars =
		System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");
}
