using Pager.Client;
using Pager.Kernel;
using Pager.Protocol;
using Xunit;

namespace Pager.Tests;

/// Clients that lie in their uffd message, written against the kernel
/// layer as a careless C program would be: each lie is refused naming
/// it, or made harmless, and an honest client reads byte-exact after.
public sealed unsafe class ClientCheckTests : PagerdTest
{
	readonly string src;
	readonly byte[] bytes;

	public ClientCheckTests()
	{
		src = RandomFile(256 << 10);
		bytes = File.ReadAllBytes(src);
		d.Ctl($"new m 256k source=file:{src}");
	}

	/// Attaches m by hand: the reply's memfd mapped shared at a place of
	/// the kernel's choosing, not yet registered.
	(Control Ctl, ulong Base, long Length) Attach(bool readOnly)
	{
		var ctl = new Control(d.Root);
		var body = ctl.Call(Wire.Attach("m", readOnly), -1, out int memfd);
		var info = AttachInfo.Parse(Assert.Single(body));
		var p = Posix.MapShared(memfd, info.Length, !readOnly, 0, "map m");
		Posix.Close(memfd);
		return (ctl, (ulong)p, info.Length);
	}

	static Userfaultfd Uffd(bool wp) => Userfaultfd.Create(
		Kernel.Uffd.UFFD_FEATURE_MISSING_SHMEM | (wp ? Kernel.Uffd.UFFD_FEATURE_PAGEFAULT_FLAG_WP | Kernel.Uffd.UFFD_FEATURE_WP_HUGETLBFS_SHMEM : 0));

	string Refused(Control ctl, string line, int fd) =>
		Assert.Throws<PagerException>(() => ctl.Call(line, fd)).Message;

	void HonestClientReads()
	{
		Assert.False(d.Proc.HasExited, "pagerd died: " + d.Log);
		d.Ctl("evict m");
		using var m = d.Attach("m", readOnly: true);
		var b = new byte[m.Size];
		m.Read(0, b);
		Assert.Equal(bytes, b);
	}

	[Fact]
	public void BaseOffByAPageIsRefused()
	{
		var (ctl, at, len) = Attach(readOnly: true);
		using var _ = ctl;
		using var u = Uffd(wp: false);
		u.Register(at, (ulong)len, Kernel.Uffd.UFFDIO_REGISTER_MODE_MISSING);
		var why = Refused(ctl, Wire.Uffd("m", at + 4096, true), u.Fd);
		Assert.Matches(@"^uffd: base 0x[0-9a-f]+ is not map m in process \d+: 0x[0-9a-f]+ is not a shared mapping of the map's memory from its start$", why);
		HonestClientReads();
	}

	[Fact]
	public void BaseOverAnonymousMemoryIsRefused()
	{
		var (ctl, _, len) = Attach(readOnly: true);
		using var __ = ctl;
		var anon = (ulong)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)len, 4096);
		try
		{
			using var u = Uffd(wp: false);
			var why = Refused(ctl, Wire.Uffd("m", anon, true), u.Fd);
			Assert.Matches(@"^uffd: base 0x[0-9a-f]+ is not map m in process \d+: 0x[0-9a-f]+ maps ", why);
		}
		finally
		{
			System.Runtime.InteropServices.NativeMemory.AlignedFree((void*)anon);
		}
		HonestClientReads();
	}

	[Fact]
	public void DescriptorThatIsNotAUserfaultfdIsRefused()
	{
		var (ctl, at, _) = Attach(readOnly: true);
		using var __ = ctl;
		using var pipe = new System.IO.Pipes.AnonymousPipeServerStream();
		var why = Refused(ctl, Wire.Uffd("m", at, true), (int)pipe.ClientSafePipeHandle.DangerousGetHandle());
		Assert.Matches(@"^uffd: the descriptor is not a userfaultfd \(it is pipe:\[\d+\]\)$", why);
		HonestClientReads();
	}

	/// A client that registered only its first page: pagerd registers
	/// the rest, so a touch of another page is a fault pagerd serves from
	/// the source, not a page of zeros left in the shared memory.
	[Fact]
	public void PartialRegistrationIsCompleted()
	{
		var (ctl, at, len) = Attach(readOnly: true);
		using var _ = ctl;
		using var u = Uffd(wp: false);
		u.Register(at, 4096, Kernel.Uffd.UFFDIO_REGISTER_MODE_MISSING);
		ctl.Call(Wire.Uffd("m", at, true), u.Fd);
		var page = new Span<byte>((byte*)at + 5 * 4096, 4096).ToArray();
		Assert.Equal(bytes.AsSpan(5 * 4096, 4096).ToArray(), page);
		Assert.Equal(1, d.Stat("m", "faults"));
		HonestClientReads();
	}

	/// A writable client that registered without write-protect: pagerd
	/// protects the range itself, so the client's write is seen, dirties
	/// the page, and reaches the file at sync.
	[Fact]
	public void RegistrationWithoutWriteProtectStillRecordsWrites()
	{
		var (ctl, at, len) = Attach(readOnly: false);
		using var _ = ctl;
		using var u = Uffd(wp: true);
		u.Register(at, (ulong)len, Kernel.Uffd.UFFDIO_REGISTER_MODE_MISSING);
		ctl.Call(Wire.Uffd("m", at, false), u.Fd);
		var p = (byte*)at + 8192;
		Assert.Equal(bytes[8192], p[0]); // fault the page in, then write it
		p[10] = (byte)(bytes[8192 + 10] ^ 0xff);
		Assert.Equal(1, d.Stat("m", "dirty"));
		Assert.Empty(ctl.Call("sync m"));
		Assert.Equal((byte)(bytes[8192 + 10] ^ 0xff), File.ReadAllBytes(src)[8192 + 10]);
	}
}
