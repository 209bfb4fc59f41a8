using System.Diagnostics;
using Pager.Sources;
using StackExchange.Redis;

namespace Pager.Bench;

/// The redis: path's store: one redis-server of Debian's on 127.0.0.1 as
/// a cluster of one master holding every slot (the benchmark measures
/// the source's cost per fault, not replication), loaded with the dense
/// file in the source's own key layout (RedisSpec) before the cells.
sealed class RedisStore : IDisposable
{
	readonly Process server;
	readonly string dir;
	public readonly string Source;

	RedisStore(Process server, string dir, int port)
	{
		this.server = server;
		this.dir = dir;
		Source = new RedisSpec([("127.0.0.1", port)], "bench").ToString();
	}

	/// A store holding file, or null (with why on stderr) where there is
	/// no redis-server.
	public static RedisStore? Start(string tmp, string file)
	{
		if (!File.Exists("/usr/bin/redis-server") || !File.Exists("/usr/bin/redis-cli"))
		{
			Console.Error.WriteLine("bench: no redis-server (sh .ci/setup installs it): no redis: source");
			return null;
		}
		int port = FreePort();
		var dir = Directory.CreateDirectory(Path.Combine(tmp, "redis")).FullName;
		var p = Proc.Start("/usr/bin/redis-server", ["--port", $"{port}", "--bind", "127.0.0.1", "--dir", dir,
			"--cluster-enabled", "yes", "--cluster-config-file", Path.Combine(dir, "nodes.conf"),
			"--save", "", "--appendonly", "no", "--protected-mode", "no"], redirect: true);
		p.BeginOutputReadLine();
		p.BeginErrorReadLine();
		var s = new RedisStore(p, dir, port);
		try
		{
			Until(() => Cli(port, "ping") == "PONG", "redis-server to answer");
			Cli(port, "cluster", "addslotsrange", "0", "16383");
			Until(() => Cli(port, "cluster", "info").Contains("cluster_state:ok"), "the cluster to serve");
			s.Load(port, file);
			return s;
		}
		catch
		{
			s.Dispose();
			throw;
		}
	}

	void Load(int port, string file)
	{
		var spec = RedisSpec.Parse(Source);
		using var c = ConnectionMultiplexer.Connect($"127.0.0.1:{port}");
		var db = c.GetDatabase();
		using var f = File.OpenRead(file);
		var tasks = new List<Task>();
		for (long n = 0; ; n++)
		{
			var b = new byte[RedisSpec.Chunk];
			int got = f.ReadAtLeast(b, b.Length, throwOnEndOfStream: false);
			if (got == 0)
				break;
			tasks.Add(db.StringSetAsync(spec.Key(n), b.AsMemory(0, got)));
			if (tasks.Count == 256)
			{
				Task.WaitAll([.. tasks]);
				tasks.Clear();
			}
		}
		Task.WaitAll([.. tasks]);
	}

	static string Cli(int port, params string[] args) =>
		Proc.Run("/usr/bin/redis-cli", ["-p", $"{port}", .. args], timeout: TimeSpan.FromSeconds(30)).Trim();

	/// Waits for cond, which may fail (redis-cli before the server
	/// listens) until it holds.
	static void Until(Func<bool> cond, string what)
	{
		var end = DateTime.UtcNow.AddSeconds(30);
		while (!Holds(cond))
		{
			if (DateTime.UtcNow > end)
				throw new BenchException($"timed out waiting for {what}");
			Thread.Sleep(50);
		}
	}

	static bool Holds(Func<bool> cond)
	{
		try
		{
			return cond();
		}
		catch (BenchException)
		{
			return false;
		}
	}

	/// A loopback port nobody uses now whose cluster bus port (port +
	/// 10000) is free too: redis-server refuses a port above 55535.
	static int FreePort()
	{
		for (;;)
		{
			var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
			l.Start();
			int port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
			try
			{
				if (port > 55535)
					continue;
				var bus = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port + 10000);
				bus.Start();
				bus.Stop();
				return port;
			}
			catch (System.Net.Sockets.SocketException)
			{
				// The bus port is taken: try another.
			}
			finally
			{
				l.Stop();
			}
		}
	}

	public void Dispose()
	{
		if (!server.HasExited)
			server.Kill(true);
		server.WaitForExit(10_000);
		server.Dispose();
		Directory.Delete(dir, true);
	}
}
