using System.Text;
using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Bench;

/// The status FIFOs and who reads them: readers that open and leave at
/// once, read a few bytes and go, or hold the FIFO open without reading;
/// and readers that read it all, as mapctl does, which must get a status
/// that parses, histograms and all, in time.
sealed class FuzzStatus(FuzzRig rig) : FuzzBoundary("status")
{
	static readonly string[] maps = [FuzzRig.Fz, FuzzRig.Fa, "chk", "chkp"];
	readonly List<int> held = [];

	public override void Case(Random r)
	{
		var path = Dir.Status(rig.Root, maps[r.Next(maps.Length)]);
		int fd = Posix.TryOpen(path, Posix.O_RDONLY | Posix.O_NONBLOCK);
		if (fd < 0)
			return; // fz removed by a hostile line, until the rig remakes it
		switch (r.Next(8))
		{
		case 0 when held.Count < 4:
			held.Add(fd);
			return;
		case 1:
		case 2:
			// With another reader holding it open, who gets a status is a race.
			if (held.Count == 0 && !ReadAll(fd, path, false))
			{
				// What a reader that just left did not read can be there
				// still, if pagerd had not closed its end yet: the next
				// status is whole.
				Posix.Close(fd);
				fd = Posix.Open(path, Posix.O_RDONLY | Posix.O_NONBLOCK);
				ReadAll(fd, path, true);
			}
			break;
		case 3:
			Posix.Poll(fd, Posix.POLLIN, 200);
			Posix.Read(fd, new byte[r.Next(1, 64)], path);
			break;
		}
		Posix.Close(fd);
	}

	/// Reads a whole status and parses it; false if it did not parse and
	/// this is not the last try.
	bool ReadAll(int fd, string path, bool last)
	{
		var b = new MemoryStream();
		var buf = new byte[4096];
		var end = Environment.TickCount64 + 3000;
		for (;;)
		{
			long left = end - Environment.TickCount64;
			if (left <= 0 || !Posix.Poll(fd, Posix.POLLIN, (int)left))
			{
				rig.Findings.Add(Name, $"a reader of {Path.GetFileName(Path.GetDirectoryName(path))}/status got {b.Length} bytes and no end in 3 s", "");
				return true;
			}
			int n = Posix.Read(fd, buf, path);
			if (n == 0 && b.Length > 0)
				break;
			if (n > 0)
				b.Write(buf, 0, n);
			else if (n == 0)
				Thread.Sleep(5); // opened before pagerd's writer came
		}
		var text = Encoding.UTF8.GetString(b.ToArray());
		try
		{
			foreach (var (k, v) in Status.Parse(text))
				if (k.StartsWith("latency."))
					Histogram.Parse(v, k);
			return true;
		}
		catch (ProtocolException e) when (last)
		{
			rig.Findings.Add(Name, $"a status pagerd wrote does not parse: {e.Message}", text);
			return true;
		}
		catch (ProtocolException)
		{
			return false;
		}
	}

	public override void EndBatch()
	{
		held.ForEach(Posix.Close);
		held.Clear();
	}
}
