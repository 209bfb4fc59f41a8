using Pager.Client;

namespace Pager.Bench;

/// pagerd's own memory with one map of each size: its resident set less
/// the map's pages it has mapped (RssShmem), on a fresh pagerd, before and
/// after a client touched pages spread over the map.
public sealed record MemRow(long Size, long Touched, long Resident, long RssKb, long ShmemKb, long AnonKb, long PssKb)
{
	public long OwnKb => RssKb - ShmemKb;
}

static unsafe class Memory
{
	public static long[] Sizes = [64 * Cells.M, Cells.G, 16 * Cells.G, 64 * Cells.G];

	public static List<MemRow> Measure(Native native, string pagerd, string tmp, string sparse, bool quick)
	{
		long touches = quick ? 1024 : 8192;
		var rows = new List<MemRow>();
		using var d = new Daemon(pagerd, Path.Combine(tmp, "mem"));
		rows.Add(Row(d, "", 0, 0));
		foreach (var size in Sizes)
		{
			var name = d.NewName();
			d.Call($"new {name} {size} source=file:{sparse}");
			rows.Add(Row(d, name, size, 0));
			using (var m = Mapping.Attach(name, new AttachOptions { Root = d.Root }))
			{
				native.Work(m.Pointer, new Cell(sparse, size, Pattern.Rand, touches, 1, 4096, false, []), -1);
				rows.Add(Row(d, name, size, touches));
			}
			d.Call($"rm {name}");
		}
		return rows;
	}

	static MemRow Row(Daemon d, string map, long size, long touched)
	{
		var st = Proc.Status(d.Pid);
		var sm = Proc.Status(d.Pid, "smaps_rollup");
		long resident = map == "" ? 0 : d.Count(map, "resident");
		return new MemRow(size, touched, resident, st["VmRSS"], st["RssShmem"], st["RssAnon"], sm.GetValueOrDefault("Pss"));
	}
}
