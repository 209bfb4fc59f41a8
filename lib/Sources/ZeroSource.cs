using Pager.Kernel;
using Pager.NineP;
using Pager.Protocol;

namespace Pager.Sources;

/// zero: every page reads as zeros.
public sealed class ZeroSource() : Source("zero")
{
	public override bool Inline => false;

	public override List<Msg> Serve(Want w) => [Msg.Range(Verb.Zero, w.Map, w.Off, w.End - w.Off)];
}
