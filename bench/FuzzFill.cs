using System.Text;
using Pager.Protocol;

namespace Pager.Bench;

/// A map's fill FIFO: streams of replies, valid and mutated, with and
/// without payloads: numbers out of range or too large, lengths that lie
/// about the payload, payloads cut short by the writer closing, other
/// maps' names, file replies naming what is not a regular file, binary
/// junk and overlong lines. The map (fz) is pagerd's own file source, so
/// its pages come whatever the replies do; nothing on its fill may reach
/// another map, and pagerd must take every byte.
sealed class FuzzFill : FuzzBoundary
{
	readonly FuzzRig rig;
	readonly FuzzFifo fill;
	readonly string[] maps, paths;

	public FuzzFill(FuzzRig rig) : base("fill")
	{
		this.rig = rig;
		fill = new FuzzFifo(Dir.Fill(rig.Root, FuzzRig.Fz));
		var fifo = Path.Combine(rig.Tmp, "a-fifo");
		if (!File.Exists(fifo))
			Kernel.Posix.Mkfifo(fifo, 0x180);
		maps = [FuzzRig.Fz, FuzzRig.Fz, FuzzRig.Fz, "chk", "chkp", FuzzRig.Fa, "nosuch", "FZ", "fz.", "'fz'"];
		paths = [rig.FzFile, rig.FzFile, fifo, rig.Tmp, "/dev/zero", "/proc/self/mem", "/nonexistent", "/etc/passwd",
			Dir.Socket(rig.Root), Dir.Fill(rig.Root, FuzzRig.Fz), "''", "'a b'", "/proc/self/fd/0"];
	}

	public override void Case(Random r)
	{
		var mu = new Mutator(r);
		var s = new MemoryStream();
		for (int i = r.Next(1, 7); i > 0; i--)
		{
			var one = FuzzSamples.Reply(r, mu.Pick(maps), FuzzRig.FuzzSize, mu.Pick(paths));
			switch (r.Next(6))
			{
			case 0: one = mu.Bytes(one); break;
			case 1: one = Reheader(one, mu); break;
			case 2: one = [.. one, .. Encoding.UTF8.GetBytes(mu.Line(FuzzSamples.Header(r)) + "\n")]; break;
			case 3: one = mu.Random(r.Next(1, 200)); break;
			}
			s.Write(one);
		}
		var bytes = s.ToArray();
		if (!fill.Write(bytes, r))
			rig.Findings.Fatal(Name, "pagerd took nothing on fill for 5 s", Encoding.Latin1.GetString(bytes));
		// The last writer going ends what it left cut short.
		if (mu.Chance(8))
			fill.Close();
	}

	/// The message with its header line mutated and its payload kept.
	static byte[] Reheader(byte[] m, Mutator mu)
	{
		int nl = Array.IndexOf(m, (byte)'\n');
		var head = mu.Line(Encoding.UTF8.GetString(m, 0, nl));
		return [.. Encoding.UTF8.GetBytes(head + "\n"), .. m.AsSpan(nl + 1)];
	}

	public override void EndBatch() => fill.Close();
}
