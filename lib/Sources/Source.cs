using Pager.Kernel;
using Pager.NineP;
using Pager.Protocol;

namespace Pager.Sources;

/// A pager's source of bytes, named by one word on the command line.
/// Serve, Write and Sync must be safe to call from several threads at once.
public abstract class Source(string name)
{
	public const long Page = 4096;

	/// The word it was named by, for messages.
	public string Name { get; } = name;

	/// True when its replies carry the bytes inline.
	public abstract bool Inline { get; }

	/// The replies to w. Failures become error replies: a pager goes on.
	public abstract List<Msg> Serve(Want w);

	/// Stores a write request's bytes; the reply is ok once the store has
	/// them, or fail saying why not. Sources that cannot store refuse.
	public virtual Msg Write(Msg w) => Unwritten(w, "source is read-only");

	/// Makes everything written so far durable: null, or what went wrong.
	public virtual string? Sync() => null;

	/// The source named by spec: file:PATH, 9p:tcp!HOST!PORT/PATH,
	/// redis:tcp!HOST!PORT[,...]/PREFIX, zero, pattern or exec:COMMAND.
	public static Source Open(string spec, SourceConfig c)
	{
		if (spec.StartsWith("file:") && spec.Length > 5)
			return new FileSource(spec, spec[5..], c);
		if (Dial.Is(spec))
			return new NinePSource(spec, c);
		if (RedisSpec.Is(spec))
			return new RedisSource(spec, c);
		if (spec.StartsWith("exec:") && spec.Length > 5)
			return new ExecSource(spec, spec[5..], c);
		return spec switch
		{
			"zero" => new ZeroSource(),
			"pattern" => new PatternSource(),
			_ => throw new ArgumentException($"unknown source '{spec}' (want file:PATH, 9p:tcp!HOST!PORT/PATH, redis:tcp!HOST!PORT[,...]/PREFIX, zero, pattern or exec:COMMAND)"),
		};
	}

	/// An error reply for off..end naming this source.
	protected Msg Error(Want w, long off, long end, string why) => Fail(w.Map, off, end, $"{Name}: {why}");

	/// An error reply, its text clipped so the line fits in one PIPE_BUF write.
	public static Msg Fail(string map, long off, long end, string text) =>
		new() { Verb = Verb.Error, Map = map, Off = off, Len = end - off, Text = Clip(text) };

	/// The fail reply to write request w, naming this source.
	protected Msg Unwritten(Msg w, string why) => FailWrite(w, $"{Name}: {why}");

	/// A fail reply to write request w, its text clipped as Fail's.
	public static Msg FailWrite(Msg w, string text) =>
		new() { Verb = Verb.Fail, Map = w.Map, Off = w.Off, Len = w.Len, Text = Clip(text) };

	/// The ok reply to write request w.
	protected static Msg Written(Msg w) => Msg.Range(Verb.Ok, w.Map, w.Off, w.Len);

	/// Text short enough for a reply line; Replies clips to the byte.
	public static string Clip(string text) => text.Length <= 1000 ? text : text[..997] + "...";

	/// An errno's text in the lower case of Plan 9's messages and 9P's.
	protected static string Errstr(int errno)
	{
		var s = Sys.StrError(errno);
		return s.Length > 0 ? char.ToLowerInvariant(s[0]) + s[1..] : s;
	}

	protected static Msg Data(Want w, long off, byte[] bytes)
	{
		var m = Msg.Range(Verb.Data, w.Map, off, bytes.Length);
		m.Payload = bytes;
		return m;
	}

	public static long RoundUp(long n) => n > long.MaxValue - (Page - 1) ? long.MaxValue & ~(Page - 1) : (n + Page - 1) & ~(Page - 1);
	public static long RoundDown(long n) => n & ~(Page - 1);
}
