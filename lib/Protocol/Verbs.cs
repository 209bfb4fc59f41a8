namespace Pager.Protocol;

public static class Verbs
{
	static readonly string[] names =
		["read", "data", "file", "zero", "error", "punt", "write", "sync", "ok", "fail", "synced", "evict"];

	public static string Name(Verb v) => names[(int)v];

	public static bool TryParse(ReadOnlySpan<char> s, out Verb v)
	{
		for (int i = 0; i < names.Length; i++)
			if (s.SequenceEqual(names[i]))
			{
				v = (Verb)i;
				return true;
			}
		v = 0;
		return false;
	}

	public static bool HasPayload(Verb v) => v is Verb.Data or Verb.Write;
	public static bool HasText(Verb v) => v is Verb.Error or Verb.Fail;
	public static bool HasSeq(Verb v) => v is Verb.Sync or Verb.Synced;
}
