using System.Text;
using Pager.Protocol;

namespace Pager.Bench;

/// The ctl FIFOs, pagerd's and a map's: control lines of every verb,
/// mutated, several to a write or cut without their newline. No one
/// answers a FIFO, so what is checked is that pagerd takes them all and
/// says no internal error (in its log, and in the map's errors).
sealed class FuzzCtl : FuzzBoundary
{
	static readonly string[] names = ["fz", "fy", "x1", "x2", "nosuch", "ctl", "sock", ".x", "a/b"];
	readonly FuzzRig rig;
	readonly FuzzFifo root, map;

	public FuzzCtl(FuzzRig rig) : base("ctl")
	{
		this.rig = rig;
		root = new FuzzFifo(Dir.Ctl(rig.Root));
		map = new FuzzFifo(Dir.MapCtl(rig.Root, FuzzRig.Fz));
	}

	public override void Case(Random r)
	{
		var mu = new Mutator(r);
		bool mine = r.Next(2) == 0;
		var b = new StringBuilder();
		for (int i = r.Next(1, 4); i > 0; i--)
		{
			var l = FuzzSamples.Ctl(r, mu.Pick(names));
			if (!mu.Chance(4))
				l = mu.Line(l);
			if (mine)
			{
				// A map's ctl takes lines with the map's name left out.
				var f = Fields.Split(l.Replace("'", ""), 2, out var rest);
				l = f.Count == 0 ? l : $"{f[0]} {rest}";
			}
			if (l.Contains("chk") || l.Contains(FuzzRig.Fa))
				continue;
			b.Append(l).Append(mu.Chance(20) ? "" : "\n");
		}
		if (FuzzSamples.Huge(b.ToString()))
			return;
		var bytes = Encoding.UTF8.GetBytes(b.ToString());
		var fifo = mine ? map : root;
		if (!fifo.Write(bytes, r))
			rig.Findings.Fatal(Name, "pagerd took nothing on a ctl FIFO for 5 s", b.ToString());
		if (mu.Chance(10))
			fifo.Close();
	}

	public override void EndBatch()
	{
		root.Close();
		map.Close();
	}
}
