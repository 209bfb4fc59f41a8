namespace Pager.Protocol;

/// One protocol message: a header line and, for data and write, a payload.
public sealed class Msg
{
	public Verb Verb;
	public string Map = "";
	public long Off;
	public long Len;
	/// file: where pagerd reads the bytes.
	public string Path = "";
	public long FileOff;
	/// error and fail: the rest of the line.
	public string Text = "";
	/// sync and synced.
	public long Seq;
	/// Trailing key=value fields; readers ignore keys they do not know.
	public KeyValues Keys = [];
	/// data and write: exactly Len bytes.
	public byte[]? Payload;
	/// The header line as it arrived, without its newline.
	public string Line = "";

	public string? Key(string name) => Keys.Get(name);

	public long End => Off + Len;

	public static Msg Range(Verb v, string map, long off, long len) => new() { Verb = v, Map = map, Off = off, Len = len };

	public override string ToString() => Line.Length > 0 ? Line : Format.Header(this);
}
