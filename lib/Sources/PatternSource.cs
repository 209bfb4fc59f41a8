using Pager.Kernel;
using Pager.NineP;
using Pager.Protocol;

namespace Pager.Sources;

/// pattern: bytes computed from their offset; see Pattern.
public sealed class PatternSource() : Source("pattern")
{
	public override bool Inline => true;

	public override List<Msg> Serve(Want w)
	{
		var b = new byte[w.End - w.Off];
		Pattern.Fill(w.Off, b);
		return [Data(w, w.Off, b)];
	}
}
