namespace Pager.Tests;

/// One Redis Cluster (3 masters, 3 replicas) shared by the tests of a
/// class, gone when they are.
public sealed class RedisClusterFixture : IDisposable
{
	public RedisCluster Cluster { get; } = RedisCluster.Start();

	public void Dispose() => Cluster.Dispose();
}

/// The same with persistence: every node keeps an append-only file.
public sealed class PersistentRedisClusterFixture : IDisposable
{
	public RedisCluster Cluster { get; } = RedisCluster.Start(persist: true);

	public void Dispose() => Cluster.Dispose();
}
