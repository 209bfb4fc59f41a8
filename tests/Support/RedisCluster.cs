using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Tmds.Linux;

namespace Pager.Tests;

/// A Redis Cluster for the tests: Debian's redis-server, masters and
/// their replicas on loopback ports of their own, each node in a
/// directory of its own, made into a cluster by redis-cli --cluster
/// create. A node can be killed (as a crash would) and started again on
/// its port and directory, or frozen. Nothing outlives the test process:
/// Dispose kills every node by its pid and removes the directories, and
/// so does the process's exit.
public sealed class RedisCluster : IDisposable
{
	public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
	/// How long a node may be silent before the others fail it over.
	public const int NodeTimeoutMs = 1000;
	public static readonly string ServerExe = Find("redis-server");
	public static readonly string CliExe = Find("redis-cli");

	static readonly HashSet<RedisCluster> live = [];

	readonly string root = Directory.CreateTempSubdirectory("pager-redis-").FullName;
	readonly Node[] nodes;
	readonly bool persist;

	/// One redis-server: its port, its directory and, while it runs, its process.
	public sealed class Node(int port, string dir)
	{
		public int Port { get; } = port;
		public string Dir { get; } = dir;
		internal Process? Proc;
		internal readonly StringBuilder Log = new();
		public bool Running => Proc is { HasExited: false };
		public int Pid => Proc?.Id ?? 0;
		/// Frozen by Pause: running, but answering nothing.
		public bool Paused { get; internal set; }
		public string Address => $"127.0.0.1:{Port}";
		public override string ToString() => Address;
	}

	public IReadOnlyList<Node> Nodes => nodes;

	static RedisCluster()
	{
		AppDomain.CurrentDomain.ProcessExit += (_, _) =>
		{
			lock (live)
				foreach (var c in live.ToArray())
					c.Dispose();
		};
	}

	RedisCluster(int count, bool persist)
	{
		this.persist = persist;
		nodes = [.. FreePorts(count).Select(p => new Node(p, Directory.CreateDirectory(Path.Combine(root, $"{p}")).FullName))];
		lock (live)
			live.Add(this);
	}

	/// Starts masters masters with replicas replicas each, makes them a
	/// cluster and waits until every node says the cluster is ok. With
	/// persist, each node keeps an append-only file, fsynced at every
	/// write, so that a cluster stopped whole comes back with its data.
	public static RedisCluster Start(int masters = 3, int replicas = 1, bool persist = false)
	{
		var c = new RedisCluster(masters * (1 + replicas), persist);
		try
		{
			foreach (var n in c.nodes)
				c.Start(n);
			var args = new List<string> { "--cluster", "create" };
			args.AddRange(c.nodes.Select(n => n.Address));
			args.AddRange(["--cluster-replicas", $"{replicas}", "--cluster-yes"]);
			var r = Cmd.Run(CliExe, args, null, null, Timeout);
			if (r.Code != 0)
				throw new InvalidOperationException($"redis-cli --cluster create: {r.Text}{r.Err}");
			c.WaitHealthy();
			return c;
		}
		catch
		{
			c.Dispose();
			throw;
		}
	}

	/// The seed list of a redis: source: tcp!127.0.0.1!PORT, comma-separated.
	public string Seeds(int count = 3) => string.Join(',', nodes.Take(count).Select(n => $"tcp!127.0.0.1!{n.Port}"));

	/// The source word for a prefix: redis:SEEDS/PREFIX.
	public string Source(string prefix) => $"redis:{Seeds()}/{prefix}";

	/// Starts node n (again) on its port and directory; its nodes.conf
	/// brings it back into the cluster.
	public void Start(Node n)
	{
		if (n.Running)
			return;
		n.Paused = false;
		var end = DateTime.UtcNow + Timeout;
		for (;;)
		{
			Launch(n);
			if (Listening(n, end))
				return;
			Reap(n);
			if (DateTime.UtcNow > end)
				throw new TimeoutException($"redis-server on port {n.Port} did not start:\n{n.Log}");
			Thread.Sleep(100);
		}
	}

	/// Kills node n outright (SIGKILL), as a crash would.
	public void Kill(Node n)
	{
		var p = n.Proc;
		if (p is null)
			return;
		try
		{
			if (!p.HasExited)
				p.Kill();
			if (!p.WaitForExit(Timeout))
				throw new TimeoutException($"redis-server pid {p.Id} still running after kill");
		}
		catch (InvalidOperationException)
		{
			// Already gone.
		}
		Reap(n);
	}

	/// Freezes node n (SIGSTOP): its connections stay up, it answers nothing.
	public void Pause(Node n)
	{
		Signal(n, LibC.SIGSTOP);
		n.Paused = true;
	}

	public void Resume(Node n)
	{
		Signal(n, LibC.SIGCONT);
		n.Paused = false;
	}

	void Signal(Node n, int sig)
	{
		if (n.Proc is null || LibC.kill(n.Proc.Id, sig) < 0)
			throw new InvalidOperationException($"cannot signal redis-server on port {n.Port}");
	}

	/// Runs redis-cli against node n (default: the first running one not frozen),
	/// following redirections, with raw output.
	public Cmd.Result Cli(Node? n, params string[] args) =>
		Cmd.Run(CliExe, ["-c", "-p", $"{(n ?? nodes.First(x => x.Running && !x.Paused)).Port}", "--raw", .. args], null, null, Timeout);

	/// Runs redis-cli against node n alone: redirections come back as replies.
	public Cmd.Result Direct(Node n, params string[] args) =>
		Cmd.Run(CliExe, ["-p", $"{n.Port}", "--raw", .. args], null, null, Timeout);

	/// A key's value as redis-cli reads it back (raw, less the newline it
	/// adds), or null when the key does not exist.
	public byte[]? Get(string key)
	{
		var e = Cli(null, "EXISTS", key);
		if (e.Text.Trim() != "1")
			return e.Text.Trim() == "0" ? null : throw new InvalidOperationException($"redis-cli EXISTS {key}: {e.Text}{e.Err}");
		var r = Cli(null, "GET", key);
		if (r.Code != 0 || r.Out.Length == 0)
			throw new InvalidOperationException($"redis-cli GET {key}: {r.Text}{r.Err}");
		return r.Out[..^1];
	}

	/// key's value as node n has it, asked directly (READONLY, so that a
	/// replica answers from its own copy; ASKING, so that a master
	/// importing the key's slot does), or null when n has no such key.
	public byte[]? GetOn(Node n, string key)
	{
		var r = Cmd.Run(CliExe, ["-p", $"{n.Port}", "--raw"], Encoding.ASCII.GetBytes($"READONLY\nASKING\nEXISTS {key}\nASKING\nGET {key}\n"), null, Timeout);
		var ok = "OK\nOK\n1\nOK\n"u8;
		if (r.Code != 0 || !r.Out.AsSpan().StartsWith(ok))
			return r.Out.AsSpan().StartsWith("OK\nOK\n0\n"u8) ? null : throw new InvalidOperationException($"redis-cli -p {n.Port} GET {key}: {r.Text}{r.Err}");
		return r.Out[ok.Length..^1];
	}

	/// The nodes each node's CLUSTER NODES lists as masters, by port.
	public HashSet<int> Masters(Node from)
	{
		var r = Cli(from, "CLUSTER", "NODES");
		var set = new HashSet<int>();
		foreach (var l in r.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
		{
			var f = l.Split(' ');
			if (f.Length > 2 && f[2].Contains("master") && !f[2].Contains("fail"))
				set.Add(int.Parse(f[1].Split('@')[0].Split(':')[1]));
		}
		return set;
	}

	/// The node that is master for key's slot now, as the running nodes see it.
	public Node MasterOf(string key) => TryMasterOf(key) ?? throw new InvalidOperationException($"no master serves {key}");

	/// The master for key's slot, or null while none does (in a failover).
	public Node? TryMasterOf(string key)
	{
		var slot = int.Parse(Cli(null, "CLUSTER", "KEYSLOT", key).Text.Trim());
		// CLUSTER NODES lines are id addr flags master ping pong epoch state slots...
		foreach (var l in Cli(null, "CLUSTER", "NODES").Text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
		{
			var f = l.Split(' ');
			if (!f[2].Contains("master") || f[2].Contains("fail"))
				continue;
			foreach (var range in f.Skip(8))
			{
				var ends = range.Split('-');
				int lo = int.Parse(ends[0]), hi = ends.Length > 1 ? int.Parse(ends[1]) : lo;
				if (slot >= lo && slot <= hi)
				{
					int port = int.Parse(f[1].Split('@')[0].Split(':')[1]);
					return nodes.Single(x => x.Port == port);
				}
			}
		}
		return null;
	}

	/// The replicas of master m, as the running nodes see them.
	public List<Node> ReplicasOf(Node m)
	{
		var id = Cli(m, "CLUSTER", "MYID").Text.Trim();
		var list = new List<Node>();
		foreach (var l in Cli(null, "CLUSTER", "NODES").Text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
		{
			var f = l.Split(' ');
			if (f[3] == id)
				list.Add(nodes.Single(x => x.Port == int.Parse(f[1].Split('@')[0].Split(':')[1])));
		}
		return list;
	}

	/// Waits until every running node says cluster_state:ok and sees the
	/// same masters, none of them failed, and every replica is in step
	/// with its master (master_link_status:up).
	public void WaitHealthy()
	{
		Cmd.WaitFor(() =>
		{
			var up = nodes.Where(n => n.Running && !n.Paused).ToList();
			if (!up.All(n => Cli(n, "CLUSTER", "INFO").Text.Contains("cluster_state:ok")))
				return false;
			foreach (var n in up)
			{
				var info = Cli(n, "INFO", "replication").Text;
				if (info.Contains("role:slave") && !info.Contains("master_link_status:up"))
					return false;
			}
			var m = up.Select(Masters).ToList();
			return m.All(s => s.SetEquals(m[0]) && s.All(p => nodes.Single(x => x.Port == p).Running));
		}, "the redis cluster to be ok", Timeout);
	}

	public void Dispose()
	{
		foreach (var n in nodes)
		{
			if (n.Proc is { } p && !p.HasExited)
				LibC.kill(p.Id, LibC.SIGCONT);
			Kill(n);
		}
		lock (live)
			live.Remove(this);
		if (Directory.Exists(root))
			Directory.Delete(root, true);
	}

	/// What node n said, for failure messages.
	public static string LogOf(Node n)
	{
		lock (n.Log)
			return n.Log.ToString();
	}

	void Launch(Node n)
	{
		var psi = new ProcessStartInfo(ServerExe)
		{
			RedirectStandardInput = true,
			RedirectStandardOutput = true,
			RedirectStandardError = true,
			UseShellExecute = false,
			WorkingDirectory = n.Dir,
		};
		// No config file: everything on the command line. No snapshots;
		// an append-only file only with persist, else durability here is
		// replication alone.
		foreach (var a in new[] {
			"--port", $"{n.Port}", "--bind", "127.0.0.1", "--protected-mode", "no",
			"--dir", n.Dir, "--daemonize", "no", "--logfile", "",
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", $"{NodeTimeoutMs}", "--cluster-announce-ip", "127.0.0.1",
			"--save", "", "--repl-diskless-sync-delay", "0",
			"--appendonly", persist ? "yes" : "no", "--appendfsync", "always" })
			psi.ArgumentList.Add(a);
		var p = new Process { StartInfo = psi };
		p.OutputDataReceived += (_, e) => Note(n, e.Data);
		p.ErrorDataReceived += (_, e) => Note(n, e.Data);
		if (!p.Start())
			throw new InvalidOperationException("cannot start " + ServerExe);
		n.Proc = p;
		p.BeginOutputReadLine();
		p.BeginErrorReadLine();
	}

	static void Note(Node n, string? line)
	{
		if (line is not null)
			lock (n.Log)
				n.Log.AppendLine(line);
	}

	static void Reap(Node n)
	{
		n.Proc?.Dispose();
		n.Proc = null;
	}

	static bool Listening(Node n, DateTime end)
	{
		while (DateTime.UtcNow < end)
		{
			if (n.Proc is null || n.Proc.HasExited)
				return false;
			using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
			try
			{
				using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
				s.ConnectAsync(IPAddress.Loopback, n.Port, cts.Token).AsTask().GetAwaiter().GetResult();
				return true;
			}
			catch (Exception e) when (e is SocketException or OperationCanceledException)
			{
				Thread.Sleep(20);
			}
		}
		return false;
	}

	static string Find(string name)
	{
		foreach (var d in new[] { "/usr/bin", "/usr/local/bin" })
			if (File.Exists(Path.Combine(d, name)))
				return Path.Combine(d, name);
		return name;
	}

	/// count loopback ports nobody uses now, each with its cluster bus
	/// port (port + 10000) free too.
	static List<int> FreePorts(int count)
	{
		var ports = new List<int>();
		var held = new List<TcpListener>();
		try
		{
			while (ports.Count < count)
			{
				var l = new TcpListener(IPAddress.Loopback, 0);
				l.Start();
				held.Add(l);
				int p = ((IPEndPoint)l.LocalEndpoint).Port;
				if (p > 55535 || ports.Contains(p - 10000) || ports.Contains(p + 10000))
					continue;
				try
				{
					var bus = new TcpListener(IPAddress.Loopback, p + 10000);
					bus.Start();
					bus.Stop();
				}
				catch (SocketException)
				{
					continue;
				}
				ports.Add(p);
			}
			return ports;
		}
		finally
		{
			foreach (var l in held)
				l.Stop();
		}
	}
}
