using System.Net;
using System.Net.Sockets;
using Pager.Protocol;
using StackExchange.Redis;

namespace Pager.Sources;

/// redis:tcp!HOST!PORT[,...]/PREFIX: a map's bytes in a Redis Cluster,
/// one key per chunk of RedisSpec.Chunk bytes (see RedisSpec for the
/// layout). A read is a GETRANGE per chunk it covers, all sent at once,
/// so read-ahead and batches are pipelined over the masters that hold
/// them; bytes no write reached read as zeros, or with Strict are
/// errors. A write is a SETRANGE per chunk, answered ok once the master
/// has it. A sync sends WAIT to every master that took writes since the
/// last sync and is synced only when each says Replicas replicas have
/// them, over the connection the writes went by; a connection lost or
/// remade since then, or a master that is now a replica, fails the sync,
/// so that pagerd writes the pages again. Requests that meet a failover
/// or a cluster that is down are sent again until Wait has passed.
public sealed class RedisSource : Source
{
	readonly RedisSpec spec;
	readonly ConnectionMultiplexer mux;
	readonly IDatabase db;
	readonly int? replicas;
	readonly TimeSpan wait;
	readonly bool strict;
	readonly Lock l = new();
	/// Each node's connection count: it changes when a connection is lost or remade.
	readonly Dictionary<EndPoint, (long Epoch, string Why)> conns = [];
	/// The masters written through since the last sync, with their epoch before the first of those writes.
	Dictionary<EndPoint, long> written = [];

	/// One key's part of a request: map bytes Off..Off+Len, at Lo in the key's value.
	readonly record struct Piece(RedisKey Key, long Off, int Lo, int Len);

	public RedisSource(string source, SourceConfig c) : base(source)
	{
		spec = RedisSpec.Parse(source);
		replicas = c.Replicas;
		wait = c.Wait;
		strict = c.Strict;
		var o = new ConfigurationOptions
		{
			AbortOnConnectFail = false,
			BacklogPolicy = BacklogPolicy.FailFast,
			ConnectTimeout = 2000,
			ConnectRetry = 1,
			// Long enough for WAIT's own timeout to come first.
			SyncTimeout = (int)wait.TotalMilliseconds + 2000,
			AsyncTimeout = (int)wait.TotalMilliseconds + 2000,
			ReconnectRetryPolicy = new LinearRetry(250),
			ClientName = "pagefill",
		};
		foreach (var (host, port) in spec.Seeds)
			o.EndPoints.Add(host, port);
		mux = ConnectionMultiplexer.Connect(o);
		mux.ConnectionFailed += (_, e) => Bump(e.EndPoint, e.ConnectionType, Cause(e.Exception, e.FailureType));
		mux.ConnectionRestored += (_, e) => Bump(e.EndPoint, e.ConnectionType, "connection remade");
		db = mux.GetDatabase();
		// Say at once that no seed answers, but serve anyway: the cluster may be on its way up.
		if (!mux.IsConnected)
			c.Warn($"redis {spec.Nodes}: cannot connect; trying again at each request");
	}

	public override bool Inline => true;

	public override List<Msg> Serve(Want w)
	{
		var ps = Pieces(w.Off, w.End);
		var got = new RedisValue[ps.Count];
		var why = Pipeline(ps, i => Get(ps[i], got, i));
		var b = new byte[w.End - w.Off];
		var r = new List<Msg>();
		long run = -1, runEnd = -1;
		void Flush()
		{
			if (run >= 0)
				r.Add(Data(w, run, b[(int)(run - w.Off)..(int)(runEnd - w.Off)]));
			run = -1;
		}
		for (int i = 0; i < ps.Count; i++)
		{
			var p = ps[i];
			// GETRANGE stops at the end of the value: past it no write has
			// reached, and the bytes read as zeros unless strict.
			long had = 0;
			if (why[i] is null)
			{
				var v = (ReadOnlyMemory<byte>)got[i];
				v.Span.CopyTo(b.AsSpan((int)(p.Off - w.Off)));
				had = strict ? Math.Min(p.Len, RoundUp(v.Length)) : p.Len;
			}
			if (had > 0)
			{
				if (run < 0)
					run = p.Off;
				runEnd = p.Off + had;
			}
			if (had == p.Len)
				continue;
			// The rest of the piece cannot be had: an error for what was asked, read-ahead left out.
			Flush();
			long e = Math.Min(p.Off + p.Len, w.Need), at = p.Off + had;
			if (at < e)
				r.Add(Fail(w.Map, at, e, why[i] ?? $"{Name}: offset 0x{at:x} was never written"));
		}
		Flush();
		return r;
	}

	public override Msg Write(Msg w)
	{
		var ps = Pieces(w.Off, w.End);
		var before = new EndPoint?[ps.Count];
		long[] epochs = new long[ps.Count];
		for (int i = 0; i < ps.Count; i++)
			(before[i], epochs[i]) = Where(ps[i].Key);
		var why = Pipeline(ps, i => db.StringSetRangeAsync(ps[i].Key, ps[i].Lo, w.Payload.AsMemory((int)(ps[i].Off - w.Off), ps[i].Len)));
		// A redirection moves a write to another master; WAIT there too.
		for (int i = 0; i < ps.Count; i++)
			if (why[i] is null)
			{
				Wrote(before[i], epochs[i]);
				Wrote(Where(ps[i].Key).Node, epochs[i]);
			}
		var failed = why.FirstOrDefault(x => x is not null);
		return failed is null ? Written(w) : FailWrite(w, failed);
	}

	/// WAIT on every master written through since the last sync.
	public override string? Sync()
	{
		Dictionary<EndPoint, long> taken;
		lock (l)
		{
			taken = written;
			written = [];
		}
		if (taken.Count == 0)
			return null;
		int n = replicas ?? (mux.GetServers().Any(s => s.IsReplica) ? 1 : 0);
		var checks = taken.Select(kv => Task.Run(() => Replicated(kv.Key, kv.Value, n))).ToArray();
		Task.WaitAll(checks);
		var errs = checks.Select(t => t.Result).Where(e => e is not null).ToList();
		return errs.Count == 0 ? null : string.Join("; ", errs);
	}

	/// Null when node's writes since epoch reached n replicas within the wait, else why not.
	async Task<string?> Replicated(EndPoint node, long epoch, int n)
	{
		string name = $"redis {Node(node)}";
		lock (l)
			if (Epoch(node).Epoch != epoch)
				return $"{name}: {Epoch(node).Why} since it took writes; they may not be replicated";
		var s = mux.GetServer(node);
		if (s.IsReplica)
			return $"{name}: no longer a master (failed over) since it took writes; they may not be replicated";
		if (n == 0)
			return null;
		long got;
		try
		{
			got = (long)await s.ExecuteAsync("WAIT", n, (long)wait.TotalMilliseconds);
		}
		catch (Exception e)
		{
			return $"{name}: {Cause(e)}";
		}
		lock (l)
			if (Epoch(node).Epoch != epoch)
				return $"{name}: {Epoch(node).Why} since it took writes; they may not be replicated";
		if (got < n)
			return $"{name}: {got} of {n} replicas have the writes after {Seconds(wait)}";
		return null;
	}

	/// The pieces of map bytes off..end, one per chunk.
	List<Piece> Pieces(long off, long end)
	{
		var ps = new List<Piece>();
		for (long o = off; o < end;)
		{
			long n = o / RedisSpec.Chunk, next = Math.Min(end, (n + 1) * RedisSpec.Chunk);
			ps.Add(new Piece(spec.Key(n), o, (int)(o - n * RedisSpec.Chunk), (int)(next - o)));
			o = next;
		}
		return ps;
	}

	async Task Get(Piece p, RedisValue[] got, int i) =>
		got[i] = await db.StringGetRangeAsync(p.Key, p.Lo, p.Lo + p.Len - 1, CommandFlags.DemandMaster);

	/// Runs op for every piece at once (the client pipelines them on each
	/// node's connection), then again for those that failed for a reason
	/// that passes: a failover, a node restarting, the cluster down. Gives
	/// each piece's failure, naming the node, or null.
	static Task Start(Func<int, Task> op, int i)
	{
		try
		{
			return op(i);
		}
		catch (Exception e)
		{
			return Task.FromException(e);
		}
	}

	string?[] Pipeline(List<Piece> ps, Func<int, Task> op)
	{
		var why = new string?[ps.Count];
		var todo = Enumerable.Range(0, ps.Count).ToList();
		var end = DateTime.UtcNow + wait;
		for (int delay = 50; ; delay = Math.Min(2 * delay, 1000))
		{
			var tasks = todo.Select(i => Start(op, i)).ToArray();
			var again = new List<int>();
			for (int k = 0; k < tasks.Length; k++)
			{
				int i = todo[k];
				try
				{
					tasks[k].GetAwaiter().GetResult();
					why[i] = null;
				}
				catch (Exception e)
				{
					why[i] = $"redis {Node(Where(ps[i].Key).Node)}: {Cause(e)}";
					if (Passing(e))
						again.Add(i);
				}
			}
			if (again.Count == 0 || DateTime.UtcNow + TimeSpan.FromMilliseconds(delay) > end)
				return why;
			Thread.Sleep(delay);
			todo = again;
		}
	}

	/// Whether trying again may help.
	static bool Passing(Exception e) => e switch
	{
		RedisConnectionException or RedisTimeoutException => true,
		RedisServerException s => s.Message.StartsWith("CLUSTERDOWN") || s.Message.StartsWith("TRYAGAIN") ||
			s.Message.StartsWith("LOADING") || s.Message.StartsWith("MASTERDOWN") || s.Message.StartsWith("READONLY"),
		_ => false,
	};

	/// The node that serves key now, and its connection's epoch.
	(EndPoint? Node, long Epoch) Where(RedisKey key)
	{
		EndPoint? ep;
		try
		{
			ep = mux.GetServer(key, null, CommandFlags.DemandMaster).EndPoint;
		}
		catch (Exception)
		{
			// No node known for it yet (none reached).
			return (null, -1);
		}
		lock (l)
			return (ep, Epoch(ep).Epoch);
	}

	void Wrote(EndPoint? node, long epoch)
	{
		if (node is null)
			return;
		lock (l)
			if (!written.TryGetValue(node, out long e) || epoch < e)
				written[node] = epoch;
	}

	(long Epoch, string Why) Epoch(EndPoint ep) => conns.TryGetValue(ep, out var e) ? e : (0, "");

	void Bump(EndPoint? ep, ConnectionType t, string why)
	{
		if (ep is null || t != ConnectionType.Interactive)
			return;
		lock (l)
			conns[ep] = (Epoch(ep).Epoch + 1, why);
	}

	string Node(EndPoint? ep) => ep switch
	{
		IPEndPoint ip => RedisSpec.Node(ip.Address.ToString(), ip.Port),
		DnsEndPoint dns => RedisSpec.Node(dns.Host, dns.Port),
		_ => spec.Nodes,
	};

	/// What went wrong, in a few words.
	static string Cause(Exception? e, ConnectionFailureType t = ConnectionFailureType.None)
	{
		for (var x = e; x is not null; x = x.InnerException)
			if (x is SocketException s)
				return Lower(s.Message);
		return e switch
		{
			RedisTimeoutException => "timed out",
			RedisServerException s => s.Message,
			RedisConnectionException c => Failure(c.FailureType),
			null => Failure(t),
			_ => Lower(e.Message.Split('\n')[0]),
		};
	}

	static string Failure(ConnectionFailureType t) => t switch
	{
		ConnectionFailureType.UnableToConnect or ConnectionFailureType.UnableToResolvePhysicalConnection => "no connection",
		ConnectionFailureType.SocketClosed => "connection closed",
		ConnectionFailureType.SocketFailure => "connection lost",
		ConnectionFailureType.Loading => "loading",
		_ => Lower(t.ToString()),
	};

	static string Seconds(TimeSpan t) => t.TotalSeconds >= 1 && t.TotalSeconds == Math.Floor(t.TotalSeconds) ? $"{t.TotalSeconds}s" : $"{t.TotalMilliseconds}ms";

	static string Lower(string s) => s.Length > 0 ? char.ToLowerInvariant(s[0]) + s[1..] : s;
}
