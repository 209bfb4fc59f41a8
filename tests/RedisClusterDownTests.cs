using Pager.Sources;
using Xunit;
using static Pager.Tests.PagefillWriteTests;
using static Pager.Tests.Streams;

namespace Pager.Tests;

/// The whole cluster down and up again, its nodes keeping append-only
/// files: reads fail while nothing serves, naming a node, and go on with
/// the same bytes once the cluster is back.
public sealed class RedisClusterDownTests(PersistentRedisClusterFixture f) : IClassFixture<PersistentRedisClusterFixture>
{
	readonly RedisCluster c = f.Cluster;
	readonly string prefix = $"d{Guid.NewGuid():N}"[..12];

	[Fact]
	public void WholeClusterDownAndUpAgain()
	{
		const int size = 8 * RedisSpec.Chunk;
		var want = Bytes(size, 21);
		using var s = new PagefillNinePTests.Session(["-t", "1s", c.Source(prefix)]);
		s.Send(PagefillWriteTests.Cat(W("m", 0, want), B("sync m 1\n")));
		Assert.Equal($"ok m 0 {size}", s.Line());
		Assert.Equal("synced m 1", s.Line());
		Assert.Equal(want[..65536], s.Data(0, 65536, "read m 0 65536\n"));

		foreach (var n in c.Nodes)
			c.Kill(n);
		s.Send(B($"read m 65536 4096\n"));
		var e = s.Next();
		Assert.Equal(Protocol.Verb.Error, e.Verb);
		// No node serves the slot: the seeds are named.
		Assert.Matches(@"^redis tcp!127\.0\.0\.1!\d+(,tcp!127\.0\.0\.1!\d+)*: [a-z]", e.Text);

		foreach (var n in c.Nodes)
			c.Start(n);
		c.WaitHealthy();
		// The same pagefill, its connections made anew, reads the same bytes.
		Cmd.WaitFor(() =>
		{
			s.Send(B("read m 65536 4096\n"));
			var m = s.Next();
			if (m.Verb == Protocol.Verb.Error)
				return false;
			var b = new byte[4096];
			for (long n = 0; ;)
			{
				m.Payload!.CopyTo(b, n);
				n += m.Len;
				if (n == 4096)
					break;
				m = s.Next();
			}
			Assert.Equal(want[65536..69632], b);
			return true;
		}, "reads to go on with the cluster back", RedisCluster.Timeout);
		Assert.Equal(want, s.Data(0, size, $"read m 0 {size}\n"));
		Assert.Equal(0, s.Close());
	}
}
