using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Daemon;

/// The maps, and one short handler for each control verb of Cmdtab, each
/// ending in its answer or a CtlException whose text goes back. The line
/// was checked against the verb's grammar before it gets here. See pagerd(8).
public sealed class Commands : IDisposable
{
	/// The largest map: its page state takes 160 MiB of pagerd's memory.
	public const long MaxSize = 1L << 42;
	/// A map's memfd, page state and its own userfaultfd, fill and ctl
	/// held open, and fault when a pager reads it.
	const int DescriptorsPerMap = 6;
	readonly Dictionary<string, Map> maps = [];
	readonly Dictionary<string, Func<Ctl, Peer?, Answer?>> handlers;
	readonly string root;
	readonly Loop loop;
	readonly Action<string> log;
	readonly Action<Map, string> mapCtl;

	public Commands(string root, Loop loop, Action<string> log, Action<Map, string> mapCtl)
	{
		this.root = root;
		this.loop = loop;
		this.log = log;
		this.mapCtl = mapCtl;
		handlers = new()
		{
			["new"] = New,
			["rm"] = Rm,
			["set"] = Set,
			["ls"] = Ls,
			["stat"] = Stat,
			["prefetch"] = Prefetch,
			["evict"] = Evict,
			["sync"] = Sync,
			["err"] = Err,
			["attach"] = Attach,
			["uffd"] = Uffd,
			["detach"] = Detach,
		};
		var missing = Cmdtab.All.Select(c => c.Name).Except(handlers.Keys).ToList();
		if (missing.Count > 0 || handlers.Count != Cmdtab.All.Length)
			throw new InvalidOperationException($"Cmdtab and pagerd's handlers disagree: {string.Join(' ', missing)}");
	}

	public IEnumerable<Map> Maps => maps.Values;

	/// The file view, when there is one: told of each map made and removed.
	public FileView? Files;
	/// The keeper, which holds each map's memory across a restart.
	public KeeperLink? Keeper;

	public Answer? Run(Ctl c, Peer? p) => handlers[c.Cmd.Name](c, p);

	public void Tick()
	{
		foreach (var m in maps.Values)
			m.Tick();
	}

	static Answer Done(params List<string> lines) => new(lines);

	Map Find(Ctl c) =>
		maps.TryGetValue(c["NAME"], out var m) ? m : throw new CtlException($"no map '{c["NAME"]}'");

	Answer New(Ctl c, Peer? _)
	{
		Make(c);
		return Done();
	}

	/// The maps a pagerd that died left with the keeper, made again from
	/// their `new` lines with the memory and page state they had.
	public void Recover(List<KeeperLink.Kept> kept)
	{
		foreach (var k in kept)
			try
			{
				Ctl c;
				try
				{
					c = Cmdtab.Parse("new " + k.Definition, From.Socket);
				}
				catch
				{
					Posix.Close(k.Memfd);
					Posix.Close(k.Statefd);
					throw;
				}
				Make(c, k.Memfd, k.Statefd);
			}
			catch (Exception e)
			{
				log($"keeper: cannot make '{Parse.Clip(k.Definition)}' again: {Boundary.Why(e, log)}");
			}
	}

	/// Makes the map c describes: new, or with the memory and page state
	/// of one kept across a restart, which are the map's (closed if it
	/// cannot be made) from the call on.
	void Make(Ctl c, int memfd = -1, int statefd = -1)
	{
		var name = c["NAME"];
		long size;
		var opt = new Options();
		try
		{
			if (!Names.IsMap(name))
				throw new CtlException($"bad map name '{Parse.Clip(name)}'");
			if (maps.ContainsKey(name))
				throw new CtlException($"map '{name}' exists");
			size = Num.Size(c["SIZE"], "size");
			if (size == 0)
				throw new CtlException("size must not be zero");
			if (size > MaxSize)
				throw new CtlException($"size {c["SIZE"]} is larger than a map may be ({Num.SizeString(MaxSize)})");
			opt.Apply(c.Fields, creating: true, size);
			if (Descriptors.ShortForMap(DescriptorsPerMap, $"new {name}") is { } why)
				throw new CtlException(why);
		}
		catch
		{
			Posix.Close(memfd);
			Posix.Close(statefd);
			throw;
		}
		var m = maps[name] = new Map(name, size, opt, Dir.Map(root, name), loop, log, mapCtl, memfd, statefd);
		Files?.Added(m);
		Keeper?.Keep(m);
		if (memfd < 0)
			log($"map {name}: new, {size} bytes, {string.Join(' ', opt.Words())}");
	}

	Answer Rm(Ctl c, Peer? _)
	{
		var m = Find(c);
		bool force = c.Has("force");
		if (m.Clients.Count > 0 && !force)
			throw new CtlException($"map '{m.Name}' has {m.Clients.Count} clients attached (force drops them)");
		if (m.DirtyPages + m.Writing > 0 && !force)
			throw new CtlException($"map '{m.Name}' has {m.DirtyPages + m.Writing} pages not written back (sync it first; force drops them)");
		if (m.Clients.Count > 0)
			m.Removed();
		foreach (var a in m.Clients.ToList())
			Drop(a);
		maps.Remove(m.Name);
		Files?.Removed(m);
		Keeper?.Drop(m);
		m.Dispose();
		log($"map {m.Name}: removed");
		return Done();
	}

	/// All or nothing: a bad option leaves the map as it was.
	Answer Set(Ctl c, Peer? _)
	{
		var m = Find(c);
		m.Opt.Clone().Apply(c.Fields, creating: false, m.Size);
		m.Opt.Apply(c.Fields, creating: false, m.Size);
		Keeper?.Keep(m);
		return Done();
	}

	Answer Ls(Ctl c, Peer? _) =>
		Done([.. maps.Values.OrderBy(m => m.Name).Select(m =>
			$"{m.Name} {m.Size} {m.Pages.Resident} {m.Clients.Count} {(m.PagerAttached ? "yes" : "no")} {m.Faults} {m.ErrorCount}")]);

	Answer Stat(Ctl c, Peer? _) => Done([.. Status.Lines(Find(c).Status())]);

	Answer Err(Ctl c, Peer? _) => Done([.. Find(c).Errors.Select(e => e.ToString())]);

	Answer Prefetch(Ctl c, Peer? _)
	{
		var m = Find(c);
		var (off, len) = Range(c, m);
		m.Prefetch(off, len);
		return Done();
	}

	/// Drops clean pages of a range (default: all of it); answers how many.
	Answer Evict(Ctl c, Peer? _)
	{
		var m = Find(c);
		var (off, len) = Range(c, m);
		return Done($"{m.Evict(off, len)}");
	}

	/// OFFSET [LENGTH]: from OFFSET (default 0) to LENGTH (default the end).
	static (long, long) Range(Ctl c, Map m)
	{
		long off = c.Maybe("OFFSET") is { } o ? Num.Size(o, "offset") : 0;
		if (off > m.Length)
			throw new CtlException($"offset {off} is past the end of map {m.Name} (size {m.Size})");
		long len = c.Maybe("LENGTH") is { } l ? Num.Size(l, "length") : m.Length - off;
		return (off, len);
	}

	/// Writes back every dirty page and answers once they are durable:
	/// no lines, or one line a failed range.
	Answer? Sync(Ctl c, Peer? p)
	{
		var m = Find(c);
		if (p is null)
			m.Sync(f => f.ForEach(l => log($"map {m.Name}: sync: {l}")));
		else
			m.Sync(f => p.Reply(f));
		return null;
	}

	/// Sends the client the memfd; it maps it and sends back a userfaultfd.
	/// The descriptor is always read-write: userfaultfd registers only
	/// mappings that could be written (VM_MAYWRITE). A read-only attach
	/// maps it PROT_READ. The connection keeps the mode for the uffd.
	Answer Attach(Ctl c, Peer? p)
	{
		var m = Find(c);
		bool ro = m.Opt.ReadOnly || c.Fields.Get("mode") == "ro";
		p!.Modes[m.Name] = ro;
		int fd = Posix.Open($"/proc/self/fd/{m.Memory.Memfd}", Posix.O_RDWR);
		return new([new AttachInfo(m.Name, m.Size, m.Length, m.Opt.PageSize, ro).ToString()], fd);
	}

	Answer Uffd(Ctl c, Peer? p)
	{
		var m = Find(c);
		int fd = p!.TakeFd();
		if (fd < 0)
			throw new CtlException("uffd: no descriptor came with the message");
		if (Descriptors.ShortForPeer($"uffd {m.Name}") is { } why)
		{
			Posix.Close(fd);
			throw new CtlException(why);
		}
		ulong @base;
		bool ro;
		try
		{
			@base = (ulong)Num.Parse(c.Fields.Need("base", "uffd"), "base");
			if (!Page.Aligned((long)@base))
				throw new CtlException($"uffd: base 0x{@base:x} is not page-aligned");
			ro = Mode(c, m, p);
		}
		catch
		{
			Posix.Close(fd);
			throw;
		}
		var uffd = Userfaultfd.Adopt(fd);
		try
		{
			ClientCheck.Verify(uffd, p.Pid, @base, m, ro);
		}
		catch
		{
			uffd.Dispose();
			throw;
		}
		Posix.SetNonblock(fd, true);
		var a = new Attachment(m, p, uffd, @base, ro);
		m.Clients.Add(a);
		p.Attached.Add(a);
		loop.Add(fd, Epoll.In, _ => Events(a));
		// A client attaching again after a restart may have threads whose
		// faults the pagerd that died read and never answered: woken, they
		// fault again, and this pagerd hears of it.
		a.Wake(0, m.Length);
		return Done();
	}

	/// The mode the map was attached with on this connection; a uffd
	/// whose mode= says otherwise is refused.
	static bool Mode(Ctl c, Map m, Peer p)
	{
		if (!p.Modes.TryGetValue(m.Name, out bool ro))
			throw new CtlException($"uffd {m.Name}: the map is not attached on this connection (attach it first)");
		if (c.Fields.Get("mode") is { } mode && mode != Wire.Mode(ro))
			throw new CtlException($"uffd {m.Name}: mode={mode} contradicts the attach, which gave mode={Wire.Mode(ro)}");
		return ro;
	}

	/// A client's userfaultfd is readable. What its events do wrong is
	/// logged, and that client is dropped; the others go on.
	void Events(Attachment a)
	{
		try
		{
			a.Map.Events(a);
		}
		catch (Exception e)
		{
			log($"map {a.Map.Name}: client userfaultfd: {Boundary.Why(e, log)}; client dropped");
			Drop(a);
		}
	}

	Answer Detach(Ctl c, Peer? p)
	{
		var m = Find(c);
		foreach (var a in p!.Attached.Where(a => a.Map == m).ToList())
			Drop(a);
		p.Modes.Remove(m.Name);
		return Done();
	}

	/// A connection closed: its attachments go.
	public void Detach(Peer p)
	{
		foreach (var a in p.Attached.ToList())
			Drop(a);
	}

	void Drop(Attachment a)
	{
		loop.Remove(a.Uffd.Fd);
		a.Peer.Attached.Remove(a);
		a.Map.Detach(a);
		a.Uffd.Dispose();
	}

	public void Dispose()
	{
		foreach (var m in maps.Values)
			m.Dispose();
		maps.Clear();
	}
}
