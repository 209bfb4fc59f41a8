using Pager.Client;

namespace Pager.Bench;

/// One pass over a map larger than the memory it is given.
public sealed record BoundRow(int Pass, long Ns, long Bytes, long MaxResident, long Bound, long Evicted, ulong Sum)
{
	public double GBs => Bytes / (double)Ns;
}

/// A map larger than its memory: a 4 GiB file (256 MiB with --quick) read
/// twice, every byte, through a map limited to 512 MiB (32 MiB) with 2 MiB
/// read-ahead, the map's resident pages sampled every 10 ms meanwhile.
static unsafe class Bounded
{
	public static List<BoundRow> Measure(Native native, string pagerd, string tmp, bool quick)
	{
		long size = quick ? 256 * Cells.M : 4 * Cells.G, bound = quick ? 32 * Cells.M : 512 * Cells.M;
		var file = Path.Combine(tmp, "big");
		native.Run(["mkfile", file, size.ToString()]);
		var rows = new List<BoundRow>();
		using (var d = new Daemon(pagerd, Path.Combine(tmp, "bound")))
		{
			d.Call($"new big {size} source=file:{file} readahead=2m maxresident={bound}");
			using var m = Mapping.Attach("big", new AttachOptions { Root = d.Root, ReadOnly = true });
			var read = new Cell(file, size, Pattern.Read, size / 4096, 1, 2 * Cells.M, false, []);
			for (int pass = 1; pass <= 2; pass++)
			{
				long max = 0;
				bool done = false;
				var sampler = new Thread(() =>
				{
					while (!Volatile.Read(ref done))
					{
						max = Math.Max(max, d.Count("big", "resident"));
						Thread.Sleep(10);
					}
				});
				sampler.Start();
				var (ns, sum) = native.Work(m.Pointer, read, -1);
				Volatile.Write(ref done, true);
				sampler.Join();
				max = Math.Max(max, d.Count("big", "resident"));
				rows.Add(new BoundRow(pass, ns, size, max * 4096, bound, d.Count("big", "evicted"), sum));
			}
		}
		File.Delete(file);
		return rows;
	}
}
