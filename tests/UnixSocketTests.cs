using Xunit;
using Pager.Kernel;

namespace Pager.Tests;

public sealed class UnixSocketTests : IDisposable
{
	readonly string dir = Directory.CreateTempSubdirectory("pager-sock").FullName;

	public void Dispose() => Directory.Delete(dir, true);

	/// A descriptor sent arrives alone: none of the sender's other
	/// descriptors (its standard input, say) comes with it.
	[Fact]
	public void OneDescriptorSentIsOneReceived()
	{
		var path = Path.Combine(dir, "s");
		int l = UnixSocket.Listen(path);
		int c = UnixSocket.Connect(path);
		Assert.True(Posix.Poll(l, Posix.POLLIN, 10_000), "no connection to accept");
		int a = UnixSocket.Accept(l);
		int memfd = Posix.MemfdCreate("passed");
		var fds = new List<int>();
		try
		{
			UnixSocket.Send(c, "x\n"u8, memfd);
			Assert.True(Posix.Poll(a, Posix.POLLIN, 10_000), "nothing arrived");
			Assert.Equal(2, UnixSocket.Receive(a, new byte[16], fds));
			Assert.Single(fds);
			Assert.Equal(Posix.Fstat(memfd, "sent").Ino, Posix.Fstat(fds[0], "received").Ino);
		}
		finally
		{
			foreach (int fd in fds.Append(memfd).Append(a).Append(c).Append(l))
				Posix.Close(fd);
		}
	}
}
