namespace Pager.Protocol;

/// The control verbs, checked in one table, as Plan 9's parsecmd and
/// Cmdtab check a ctl file's: pagerd dispatches on it, mapctl takes its
/// verbs from it, and the tests hold the manual pages to it.
public static class Cmdtab
{
	public static readonly Cmd[] All =
	[
		new("new", "NAME SIZE [key=value...]", "make a map"),
		new("rm", "NAME [force]", "remove a map"),
		new("set", "NAME key=value...", "change a map's options"),
		new("ls", "", "list the maps: name size resident clients pager faults errors"),
		new("stat", "NAME", "print every counter of a map"),
		new("prefetch", "NAME [OFFSET [LENGTH]]", "request the missing pages of a range now"),
		new("evict", "NAME [OFFSET [LENGTH]]", "drop a range's clean pages from memory; print how many went"),
		new("sync", "NAME", "write back a map's dirty pages; answer when all are durable"),
		new("err", "NAME", "print a map's recorded errors"),
		new("attach", "NAME [mode=ro|rw]", "get a map's memory", From.Socket),
		new("uffd", "NAME base=ADDRESS [mode=ro|rw]", "hand pagerd the userfaultfd of an attached map", From.Socket),
		new("detach", "NAME", "let go of a map", From.Socket),
	];

	public static Cmd? Find(string name) => All.FirstOrDefault(c => c.Name == name);

	/// Parses a control line from the given place. Anything wrong (an
	/// unknown verb, a missing or extra argument, a field not in the
	/// grammar) is an error quoting the line and giving the usage.
	public static Ctl Parse(string line, From from)
	{
		var words = Fields.Split(line);
		if (words.Count == 0)
			throw new ProtocolException("empty control message");
		var cmd = Find(words[0]) ?? throw new ProtocolException($"unknown control message '{Protocol.Parse.Clip(line)}'");
		if ((cmd.From & from) == 0)
			throw new ProtocolException($"'{Protocol.Parse.Clip(line)}' works only on the socket");
		try
		{
			return Match(cmd, line, words.Skip(1).ToList());
		}
		catch (ProtocolException e)
		{
			throw new ProtocolException($"{e.Message} in '{Protocol.Parse.Clip(line)}' (usage: {cmd.Usage})");
		}
	}

	static Ctl Match(Cmd cmd, string line, List<string> args)
	{
		var c = new Ctl(cmd, line);
		int i = 0;
		foreach (var a in cmd.Spec.Where(a => !a.IsField && !a.IsFields))
		{
			bool here = i < args.Count && !args[i].Contains('=') && (a.IsValue || args[i] == a.Word);
			if (here)
				c.Values[a.Word] = args[i++];
			else if (!a.Optional)
				throw new ProtocolException(i < args.Count ? $"bad argument '{args[i]}' (want {a.Word})" : $"missing {a.Word}");
		}
		var rest = args.Skip(i).ToList();
		var fields = cmd.Spec.FirstOrDefault(a => a.IsFields);
		if (fields is null && rest.FirstOrDefault(w => !w.Contains('=')) is { } extra)
			throw new ProtocolException($"extra argument '{extra}'");
		c.Fields = KeyValues.Parse(rest, fields is null ? "field" : "option");
		if (fields is not null && !fields.Optional && c.Fields.Count == 0)
			throw new ProtocolException("missing key=value");
		if (fields is not null)
			return c;
		foreach (var kv in c.Fields)
		{
			var a = cmd.Spec.FirstOrDefault(a => a.IsField && a.Key == kv.Key)
				?? throw new ProtocolException($"unknown field '{kv.Key}'");
			if (a.Choices is { } ch && !ch.Contains(kv.Value))
				throw new ProtocolException($"bad {kv.Key} '{kv.Value}' (want {string.Join(" or ", ch)})");
		}
		foreach (var a in cmd.Spec.Where(a => a.IsField && !a.Optional))
			c.Fields.Need(a.Key, cmd.Name);
		return c;
	}
}
