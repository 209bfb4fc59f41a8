using System.Text;
using Pager.Protocol;

namespace Pager.Bench;

/// Valid inputs of each kind, for the mutator to start from: pager
/// messages for a map, control lines of every verb, a map's status.
static class FuzzSamples
{
	static readonly string[] replyVerbs = ["data", "file", "zero", "error", "punt", "evict", "ok", "fail", "synced"];

	/// A page-aligned range inside a map of size bytes.
	static (long Off, long Len) Range(Random r, long size)
	{
		long pages = size / 4096;
		long a = r.NextInt64(pages), n = r.NextInt64(1, Math.Min(pages - a, 16) + 1);
		return (a * 4096, n * 4096);
	}

	/// A well-formed message to pagerd on map's fill FIFO, as bytes: a
	/// reply of any verb, and for data its payload (sometimes a piece of
	/// a page, as pagefill sends them).
	public static byte[] Reply(Random r, string map, long size, string file)
	{
		var (off, len) = Range(r, size);
		string verb = replyVerbs[r.Next(replyVerbs.Length)];
		string line = verb switch
		{
			"data" when r.Next(2) == 0 => $"data {map} {off + r.Next(4096)} {len = r.Next(1, 4097)}",
			"data" => $"data {map} {off} {len}",
			"file" => $"file {map} {off} {len} {file} {r.Next(64) * 4096}",
			"error" or "fail" => $"{verb} {map} {off} {len} no such block",
			"synced" => $"synced {map} {r.Next(4)}" + (r.Next(2) == 0 ? " err=disk" : ""),
			_ => $"{verb} {map} {off} {len}",
		};
		var head = Encoding.UTF8.GetBytes(line + "\n");
		if (verb != "data")
			return head;
		var all = new byte[head.Length + len];
		head.CopyTo(all, 0);
		r.NextBytes(all.AsSpan(head.Length));
		return all;
	}

	/// A header line of any verb, requests too: what the parser sees.
	public static string Header(Random r)
	{
		var (off, len) = Range(r, 1 << 20);
		var v = Verbs.Name((Verb)r.Next(12));
		return v switch
		{
			"file" => $"file m {off} {len} /tmp/x {off}",
			"sync" or "synced" => $"{v} m {r.Next(100)} t=5",
			"error" or "fail" => $"{v} m {off} {len} it broke 'quoted' here",
			_ => $"{v} m {off} {len} tid=7 size=1048576 t=99",
		};
	}

	/// A control line of any verb of Cmdtab, for map.
	public static string Ctl(Random r, string map)
	{
		string[] opts =
		[
			"pagesize=8k", "source=zero", "source=none", "source=file:/dev/null", "offset=4096", "mode=ro",
			"readahead=64k", "timeout=2s", "policy=zero", "policy=wait", "writebehind=1s", "dirtylimit=64k", "maxresident=1m",
		];
		string Opts() => string.Join(' ', Enumerable.Range(0, r.Next(3)).Select(_ => opts[r.Next(opts.Length)]).Distinct());
		return r.Next(12) switch
		{
			0 => $"new {map} {4096 * r.Next(1, 64)} {Opts()}",
			1 => $"rm {map}" + (r.Next(2) == 0 ? " force" : ""),
			2 => $"set {map} {Opts()} readahead=0",
			3 => "ls",
			4 => $"stat {map}",
			5 => $"prefetch {map} {4096 * r.Next(8)} {4096 * r.Next(1, 8)}",
			6 => $"evict {map} {4096 * r.Next(8)}",
			7 => $"sync {map}",
			8 => $"err {map}",
			9 => $"attach {map} mode={(r.Next(2) == 0 ? "ro" : "rw")}",
			10 => $"uffd {map} base=0x7f0000000000",
			_ => $"detach {map}",
		};
	}

	/// Whether the lines, as pagerd splits them (two written without a
	/// newline between are one), make a map of more than 64 MiB, with its
	/// name or, on a map's ctl, without: pagerd would make it, and prefetch
	/// it, and the machine's memory is not what is being tested.
	public static bool Huge(string text)
	{
		foreach (var l in text.Split('\n').Select(l => l.TrimStart(' ', '\t', '\r')))
			foreach (var line in new[] { l, l.StartsWith("new") ? "new x " + l[3..] : l })
				try
				{
					var c = Cmdtab.Parse(line, From.Fifo);
					if (c.Cmd.Name == "new" && Num.Size(c["SIZE"], "size") > 64 << 20)
						return true;
				}
				catch (ProtocolException)
				{
				}
		return false;
	}

	/// A map's status as pagerd writes it, latency histograms and all.
	public static string Status(Random r)
	{
		(string, string)[] fields =
		[
			("name", "m"), ("size", "1048576"), ("pagesize", "4k"), ("source", "file:/tmp/a b"), ("offset", "0"),
			("mode", "rw"), ("readahead", "64k"), ("timeout", "none"), ("policy", "sigbus"), ("writebehind", "none"),
			("dirtylimit", "0"), ("maxresident", "0"), ("resident", "12"), ("faults", "40"), ("requests", "9"),
			("fills", "9"), ("filled", "49152"), ("waiting", "0"), ("outstanding", "0"), ("clients", "1"),
			("evicted", "0"), ("dirty", "0"), ("writing", "0"), ("writes", "0"), ("writefails", "0"),
			("pager", "yes"), ("errors", "0"),
		];
		var lines = fields.Select(f => $"{f.Item1} {f.Item2}").ToList();
		foreach (var k in new[] { "fault.pager", "fault.source", "fault.present", "fault.error", "write", "sync" })
			lines.Add($"latency.{k} {Histogram(r)}");
		return string.Join('\n', lines) + "\n";
	}

	public static Histogram Histogram(Random r)
	{
		var h = new Histogram();
		for (int i = r.Next(20); i > 0; i--)
			h.Add(r.NextInt64(1L << r.Next(40)));
		return h;
	}
}
