using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Daemon;

/// Control messages: one short handler each, ending in the reply's lines
/// or a CtlException whose text goes back. See pagerd(8).
public sealed partial class Server
{
	/// Runs a control message; null when the reply comes later (sync).
	List<string>? Exec(Conn? c, string line, ref int passFd)
	{
		var f = Fields.Split(line);
		if (f.Count == 0)
			throw new CtlException("empty control message");
		var args = f.Skip(1).ToList();
		return f[0] switch
		{
			"new" => New(args),
			"rm" => Rm(args),
			"set" => Set(args),
			"prefetch" => Prefetch(args),
			"sync" => Sync(c, args),
			"evict" => Evict(args),
			"ls" => Ls(),
			"stat" => [.. Find(args, "stat NAME").Status().TrimEnd('\n').Split('\n')],
			"err" => [.. Find(args, "err NAME").Errors.Select(e => e.ToString())],
			"attach" => Attach(Need(c, line), args, ref passFd),
			"uffd" => Uffd(Need(c, line), args),
			"detach" => Detach(Need(c, line), args),
			_ => throw new CtlException($"unknown control message '{Protocol.Parse.Clip(line)}'"),
		};
	}

	static Conn Need(Conn? c, string line) =>
		c ?? throw new CtlException($"'{Protocol.Parse.Clip(line)}' works only on the socket");

	Map Find(List<string> args, string usage)
	{
		if (args.Count == 0)
			throw new CtlException("usage: " + usage);
		return maps.TryGetValue(args[0], out var m) ? m : throw new CtlException($"no map '{args[0]}'");
	}

	List<string> New(List<string> args)
	{
		if (args.Count < 2)
			throw new CtlException("usage: new NAME SIZE [key=value...]");
		var name = args[0];
		if (!Names.IsMap(name))
			throw new CtlException($"bad map name '{name}'");
		if (maps.ContainsKey(name))
			throw new CtlException($"map '{name}' exists");
		long size = Num.Size(args[1], "size");
		if (size == 0)
			throw new CtlException("size must not be zero");
		var opt = new Options();
		opt.Apply(args.Skip(2), creating: true);
		maps[name] = new Map(name, size, opt, Dir.Map(root, name), loop, log, MapCtl);
		log($"map {name}: new, {size} bytes, {string.Join(' ', opt.Words())}");
		return [];
	}

	List<string> Rm(List<string> args)
	{
		var m = Find(args, "rm NAME [force]");
		bool force = args.Count > 1 && args[1] == "force";
		if (m.Clients.Count > 0 && !force)
			throw new CtlException($"map '{m.Name}' has {m.Clients.Count} clients attached (force drops them)");
		if (m.DirtyPages + m.Writing > 0 && !force)
			throw new CtlException($"map '{m.Name}' has {m.DirtyPages + m.Writing} pages not written back (sync it first; force drops them)");
		foreach (var a in m.Clients.ToList())
		{
			a.Conn.Attached.Remove(a);
			Drop(a);
		}
		maps.Remove(m.Name);
		m.Dispose();
		log($"map {m.Name}: removed");
		return [];
	}

	List<string> Set(List<string> args)
	{
		var m = Find(args, "set NAME key=value...");
		// All or nothing: a bad option leaves the map as it was.
		m.Opt.Clone().Apply(args.Skip(1), creating: false);
		m.Opt.Apply(args.Skip(1), creating: false);
		return [];
	}

	List<string> Prefetch(List<string> args)
	{
		var m = Find(args, "prefetch NAME [OFFSET LENGTH]");
		long off = args.Count > 1 ? Num.Size(args[1], "offset") : 0;
		long len = args.Count > 2 ? Num.Size(args[2], "length") : m.Length - off;
		m.Prefetch(off, len);
		return [];
	}

	/// Writes back every dirty page and answers once they are durable:
	/// no lines, or one line a failed range.
	List<string>? Sync(Conn? c, List<string> args)
	{
		var m = Find(args, "sync NAME");
		if (c is null)
			m.Sync(f => f.ForEach(l => log($"map {m.Name}: sync: {l}")));
		else
			m.Sync(f => c.Reply(f));
		return null;
	}

	/// Drops clean pages of a range (default: all of it); answers how many.
	List<string> Evict(List<string> args)
	{
		var m = Find(args, "evict NAME [OFFSET LENGTH]");
		long off = args.Count > 1 ? Num.Size(args[1], "offset") : 0;
		long len = args.Count > 2 ? Num.Size(args[2], "length") : m.Length - off;
		return [$"{m.Evict(off, len)}"];
	}

	List<string> Ls() =>
		[.. maps.Values.OrderBy(m => m.Name).Select(m =>
			$"{m.Name} {m.Size} {m.Resident} {m.Clients.Count} {(m.PagerAttached ? "yes" : "no")} {m.Faults} {m.ErrorCount}")];

	/// Sends the client the memfd; it maps it and sends back a userfaultfd.
	/// The descriptor is always read-write: userfaultfd registers only
	/// mappings that could be written (VM_MAYWRITE). A read-only attach
	/// maps it PROT_READ.
	List<string> Attach(Conn c, List<string> args, ref int passFd)
	{
		var m = Find(args, "attach NAME [mode=ro|rw]");
		bool ro = m.Opt.ReadOnly || args.Skip(1).Contains("mode=ro");
		passFd = Posix.Open($"/proc/self/fd/{m.Memfd}", Tmds.Linux.LibC.O_RDWR);
		return [$"{m.Name} size={m.Size} length={m.Length} pagesize={m.Opt.PageSize} mode={(ro ? "ro" : "rw")}"];
	}

	List<string> Uffd(Conn c, List<string> args)
	{
		var m = Find(args, "uffd NAME base=ADDRESS [mode=ro|rw]");
		int fd = c.TakeFd();
		if (fd < 0)
			throw new CtlException("uffd: no descriptor came with the message");
		var kv = args.Skip(1).Where(a => a.Contains('=')).ToDictionary(a => a[..a.IndexOf('=')], a => a[(a.IndexOf('=') + 1)..]);
		if (!kv.TryGetValue("base", out var b))
		{
			Posix.Close(fd);
			throw new CtlException("uffd: want base=ADDRESS");
		}
		var uffd = Userfaultfd.Adopt(fd);
		Posix.SetNonblock(fd, true);
		var a = new Attachment(m, c, uffd, (ulong)Num.Parse(b, "base"), kv.GetValueOrDefault("mode") == "ro");
		m.Clients.Add(a);
		c.Attached.Add(a);
		loop.Add(fd, Epoll.In, _ => Events(a));
		return [];
	}

	List<string> Detach(Conn c, List<string> args)
	{
		var m = Find(args, "detach NAME");
		foreach (var a in c.Attached.Where(a => a.Map == m).ToList())
		{
			c.Attached.Remove(a);
			Drop(a);
		}
		return [];
	}
}
