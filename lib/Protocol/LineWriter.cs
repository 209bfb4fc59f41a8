using System.Globalization;
using System.Text;

namespace Pager.Protocol;

/// Writes the parts of a header line as UTF-8 into a buffer large enough
/// for them: Format's hand. Words are quoted as Fields.Split reads them.
ref struct LineWriter(Span<byte> dst)
{
	readonly Span<byte> d = dst;
	int n;

	public readonly int Written => n;

	public void Space() => d[n++] = (byte)' ';

	public void Ascii(string s)
	{
		foreach (char c in s)
			d[n++] = (byte)c;
	}

	public void Chars(ReadOnlySpan<char> s) => n += Encoding.UTF8.GetBytes(s, d[n..]);

	public void Num(long v)
	{
		v.TryFormat(d[n..], out int w, default, CultureInfo.InvariantCulture);
		n += w;
	}

	/// A word, quoted if it needs it, as Fields.Quote does.
	public void Word(string s)
	{
		if (s.Length > 0 && !Fields.NeedsQuote(s))
			Chars(s);
		else
			Quoted(s, "", "");
	}

	/// key=value as one word, quoted if it needs it.
	public void Key(string key, string value)
	{
		if (Fields.NeedsQuote(key) || Fields.NeedsQuote(value))
			Quoted(key, "=", value);
		else
		{
			Chars(key);
			d[n++] = (byte)'=';
			Chars(value);
		}
	}

	void Quoted(string a, string b, string c)
	{
		d[n++] = (byte)'\'';
		Doubled(a);
		Chars(b);
		Doubled(c);
		d[n++] = (byte)'\'';
	}

	/// s with each quote doubled.
	void Doubled(ReadOnlySpan<char> s)
	{
		for (int q; (q = s.IndexOf('\'')) >= 0; s = s[(q + 1)..])
		{
			Chars(s[..q]);
			d[n++] = (byte)'\'';
			d[n++] = (byte)'\'';
		}
		Chars(s);
	}

	/// Free text to the end of the line: a newline in it becomes a blank.
	public void Line(ReadOnlySpan<char> s)
	{
		for (int nl; (nl = s.IndexOf('\n')) >= 0; s = s[(nl + 1)..])
		{
			Chars(s[..nl]);
			Space();
		}
		Chars(s);
	}
}
