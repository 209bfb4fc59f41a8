namespace Pager.Bench;

/// One place where outside input enters the toolkit. Case throws hostile
/// input at it once and checks what came back; a batch of cases ends in
/// EndBatch (where a boundary lets go of what it held) and then the rig's
/// check that pagerd still serves byte-exact.
abstract class FuzzBoundary(string name)
{
	public readonly string Name = name;
	public long Cases;
	/// Cases that go through the daemon end to end, rather than through
	/// a parser in this process.
	public virtual bool EndToEnd => true;
	/// Cases counted as going through pagerd (the 9P cases go to a 9P
	/// client, though each batch ends with pagefill's through pagerd).
	public virtual bool ThroughDaemon => EndToEnd;

	public abstract void Case(Random r);

	public virtual void EndBatch()
	{
	}
}
