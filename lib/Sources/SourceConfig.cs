namespace Pager.Sources;

/// How pagefill(1) was told to use its source.
public sealed class SourceConfig
{
	/// file: the file offset of map offset 0.
	public long FileOff;
	/// file: send the bytes inline as data instead of file replies.
	public bool Inline;
	/// 9p: the attach name, the export on the server.
	public string Aname = "";
	/// redis: how many replicas a sync waits for; null: 1 if the cluster has replicas, else 0.
	public int? Replicas;
	/// redis: how long a request waits for the cluster (a failover, a node
	/// restarting) and a sync for its replicas.
	public TimeSpan Wait = TimeSpan.FromSeconds(10);
	/// redis: bytes never written are errors, not zeros.
	public bool Strict;
	/// Where a source says what the user should know but pagerd need not.
	public Action<string> Warn = _ => { };
}
