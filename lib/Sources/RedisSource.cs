using System.Net;
using System.Net.Sockets;
using Pager.Protocol;
using StackExchange.Redis;
using StackExchange.Redis.Profiling;

namespace Pager.Sources;

/// redis:tcp!HOST!PORT[,...]/PREFIX: a map's bytes in a Redis Cluster,
/// one key per chunk of RedisSpec.Chunk bytes (see RedisSpec for the
/// layout). A read is a GETRANGE per chunk it covers, all sent at once,
/// so read-ahead and batches are pipelined over the masters that hold
/// them; bytes no write reached read as zeros, or with Strict are
/// errors. A write is a SETRANGE per chunk, answered ok once the master
/// has it; the client's profiler says which node took each SETRANGE,
/// after any ASK or MOVED. A sync sends WAIT to every master that took a
/// write not yet known replicated, over the connection the write went by,
/// and is synced only when each says Replicas replicas have them; a
/// connection lost or remade since, or a master that is now a replica,
/// fails the sync, and the pages stay unconfirmed until pagerd writes
/// them again. Requests that meet a failover or a
/// cluster that is down are sent again until Wait has passed.
public sealed class RedisSource : Source
{
	readonly RedisSpec spec;
	readonly ConnectionMultiplexer mux;
	readonly IDatabase db;
	readonly int? replicas;
	readonly TimeSpan wait;
	readonly bool strict;
	readonly Lock l = new();
	/// The write being made on this thread, so that the client says which
	/// node each of its commands went to, redirections included.
	readonly AsyncLocal<ProfilingSession?> profile = new();
	/// Each node's connection count: it changes when a connection is lost or remade.
	readonly Dictionary<EndPoint, (long Epoch, string Why)> conns = [];
	/// Each page written and not yet known replicated: the masters its
	/// last write went by, each with its connection's epoch before it.
	/// A sync that fails keeps the pages of the masters that failed it, so
	/// that no later sync passes until they are written again.
	Dictionary<long, Via[]> unsynced = [];

	/// A master a write went by, and its connection's epoch then.
	readonly record struct Via(EndPoint Node, long Epoch);
	/// The epoch of a node a write is not known to have gone by: fails the sync.
	const long Unknown = -1;

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
		mux.RegisterProfiler(() => profile.Value);
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
		var runs = new List<Run>();
		for (int i = 0; i < ps.Count; i++)
		{
			var p = ps[i];
			if (why[i] is not null)
			{
				Add(runs, new Run(Verb.Error, p.Off, p.Off + p.Len, why[i]));
				continue;
			}
			// GETRANGE stops at the end of the value: past it no write has
			// reached, and the bytes are zeros, or with -e missing.
			var v = (ReadOnlyMemory<byte>)got[i];
			v.Span.CopyTo(b.AsSpan((int)(p.Off - w.Off)));
			long had = p.Off + Math.Min(p.Len, RoundUp(v.Length));
			if (had > p.Off)
				Add(runs, new Run(Verb.Data, p.Off, had, null));
			if (had < p.Off + p.Len)
				Add(runs, strict ? new Run(Verb.Error, had, p.Off + p.Len, $"{Name}: offset 0x{had:x} was never written")
					: new Run(Verb.Zero, had, p.Off + p.Len, null));
		}
		var r = new List<Msg>();
		foreach (var x in runs)
		{
			if (x.Verb == Verb.Data)
				r.Add(Data(w, x.Off, b[(int)(x.Off - w.Off)..(int)(x.End - w.Off)]));
			else if (x.Verb == Verb.Zero)
				r.Add(Msg.Range(Verb.Zero, w.Map, x.Off, x.End - x.Off));
			else if (x.Off < w.Need)
				r.Add(Fail(w.Map, x.Off, Math.Min(x.End, w.Need), x.Why!)); // read-ahead that cannot be had is left out
		}
		return r;
	}

	/// Part of a read's answer: bytes read, zeros, or an error and why.
	readonly record struct Run(Verb Verb, long Off, long End, string? Why);

	/// Adds x to runs, joined to the last if it follows on of the same kind.
	static void Add(List<Run> runs, Run x)
	{
		if (runs.Count > 0 && runs[^1] is var last && last.End == x.Off && last.Verb == x.Verb && last.Why == x.Why)
			runs[^1] = last with { End = x.End };
		else
			runs.Add(x);
	}

	public override Msg Write(Msg w)
	{
		// The payload, not Len: pagefill trims the bytes past the map's end.
		var ps = Pieces(w.Off, w.Off + w.Payload!.Length);
		Dictionary<EndPoint, (long Epoch, string Why)> before;
		lock (l)
			before = new(conns);
		profile.Value = new ProfilingSession();
		string?[] why;
		try
		{
			why = Pipeline(ps, i => db.StringSetRangeAsync(ps[i].Key, ps[i].Lo, w.Payload.AsMemory((int)(ps[i].Off - w.Off), ps[i].Len)));
		}
		finally
		{
			Wrote(ps, before, profile.Value.FinishProfiling());
			profile.Value = null;
		}
		var failed = why.FirstOrDefault(x => x is not null);
		return failed is null ? Written(w) : FailWrite(w, failed);
	}

	/// WAIT on every master that took a page not yet known replicated.
	public override string? Sync()
	{
		Dictionary<long, Via[]> taken;
		lock (l)
		{
			taken = unsynced;
			unsynced = [];
		}
		if (taken.Count == 0)
			return null;
		int n = replicas ?? (mux.GetServers().Any(s => s.IsReplica) ? 1 : 0);
		var vias = taken.Values.SelectMany(v => v).Distinct().ToList();
		var checks = vias.Select(v => Task.Run(() => Replicated(v, n))).ToArray();
		Task.WaitAll(checks);
		var failed = vias.Where((v, i) => checks[i].Result is not null).ToHashSet();
		var errs = checks.Select(t => t.Result).Where(e => e is not null).Distinct().ToList();
		// A page whose write no node is known to have taken is never confirmed.
		if (taken.Values.Any(v => v.Length == 0))
			errs.Add($"redis {spec.Nodes}: took writes the client could not trace; their replication cannot be confirmed");
		if (errs.Count == 0)
			return null;
		lock (l)
			foreach (var (page, v) in taken)
				if (v.Length == 0 || v.Any(failed.Contains))
					unsynced.TryAdd(page, v); // unless written again meanwhile
		return string.Join("; ", errs);
	}

	/// Null when the writes v.Node took on its connection of epoch
	/// v.Epoch reached n replicas within the wait, else why not.
	async Task<string?> Replicated(Via v, int n)
	{
		string name = $"redis {Node(v.Node)}";
		string? Lost()
		{
			lock (l)
				return v.Epoch == Unknown ? $"{name}: took writes the client could not trace; their replication cannot be confirmed"
					: Epoch(v.Node).Epoch == v.Epoch ? null
					: $"{name}: {Epoch(v.Node).Why} since it took writes; they may not be replicated";
		}
		if (Lost() is string m)
			return m;
		var s = mux.GetServer(v.Node);
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
		if (Lost() is string m2)
			return m2;
		return got < n ? $"{name}: {got} of {n} replicas have the writes after {Seconds(wait)}" : null;
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

	/// op(i), its exceptions in the task it gives.
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

	/// Runs op for every piece at once (the client pipelines them on each
	/// node's connection), then again for those that failed for a reason
	/// that passes: a failover, a node restarting, the cluster down. Gives
	/// each piece's failure, naming the node, or null.
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
					why[i] = $"redis {Node(Serving(ps[i].Key))}: {Cause(e)}";
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

	/// The node that serves key now, as the client knows; null when it
	/// knows none yet (none reached).
	EndPoint? Serving(RedisKey key)
	{
		try
		{
			return mux.GetServer(key, null, CommandFlags.DemandMaster).EndPoint;
		}
		catch (Exception)
		{
			return null;
		}
	}

	/// The pieces were written (some may have failed: they are written
	/// again): each page of them is unconfirmed, by the nodes the client
	/// says its SETRANGEs went to (after any ASK or MOVED), with their
	/// connections' epochs from before the write.
	void Wrote(List<Piece> ps, Dictionary<EndPoint, (long Epoch, string Why)> before, IEnumerable<IProfiledCommand> cmds)
	{
		var list = cmds.Where(c => c.Command == "SETRANGE").ToList();
		var resent = list.Select(c => c.RetransmissionOf).Where(c => c is not null).ToHashSet();
		var vias = list.Where(c => !resent.Contains(c) && c.EndPoint is not null)
			.Select(c => new Via(c.EndPoint, before.TryGetValue(c.EndPoint, out var e) ? e.Epoch : 0)).Distinct().ToList();
		// Which piece went where is not kept; every page answers to every node the write went by.
		if (vias.Count == 0)
			foreach (var p in ps)
				if (Serving(p.Key) is EndPoint x)
					vias.Add(new Via(x, Unknown));
		Via[] all = [.. vias];
		lock (l)
			foreach (var p in ps)
				for (long o = p.Off; o < p.Off + p.Len; o += Page)
					unsynced[o / Page] = all;
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
