namespace Pager.Protocol;

/// The verbs of the pager protocol; see pager(7).
public enum Verb
{
	Read,   // pagerd → pager: fill OFF..OFF+LEN
	Data,   // pager → pagerd: the bytes, inline
	File,   // pager → pagerd: read the bytes from PATH at FOFF
	Zero,   // pager → pagerd: zero-fill
	Error,  // pager → pagerd: the range cannot be supplied
	Punt,   // pager → pagerd: declined; use the map's own source
	Write,  // pagerd → pager: dirty bytes to write back
	Sync,   // pagerd → pager: barrier; everything before must be durable
	Ok,     // pager → pagerd: a write is durable
	Fail,   // pager → pagerd: a write failed
	Synced, // pager → pagerd: the barrier is passed
	Evict,  // pager → pagerd: drop these clean pages
}

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

/// A line that is not a well-formed message.
public sealed class ProtocolException(string message) : Exception(message);
