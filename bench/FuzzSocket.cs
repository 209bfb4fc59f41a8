using System.Text;
using Pager.Kernel;
using Pager.Protocol;
using Tmds.Linux;

namespace Pager.Bench;

/// pagerd's socket: control lines mutated, cut, run together and made
/// too long, each carrying descriptors of any kind or none; and attaches
/// carried through with real mappings and userfaultfds, right or wrong
/// in one thing (the descriptor, its registration, the base, the
/// mapping, the mode). Every line must get exactly one whole answer in
/// time, never an internal error; a uffd is taken only when everything
/// about it is right, and then the memory reads as the map's source.
sealed unsafe class FuzzSocket(FuzzRig rig) : FuzzBoundary("socket")
{
	const int Wait = 10_000;
	static readonly string[] names = ["fz", "fy", "x1", "nosuch", "fz.", "FZ"];
	readonly byte[] source = File.ReadAllBytes(rig.FaFile);

	public override void Case(Random r)
	{
		if (r.Next(3) == 0)
			Attach(r);
		else
			Lines(r);
	}

	/// A few lines in one go, perhaps cut short at the end.
	void Lines(Random r)
	{
		var mu = new Mutator(r);
		var b = new MemoryStream();
		for (int i = r.Next(1, 5); i > 0; i--)
		{
			var l = FuzzSamples.Ctl(r, mu.Pick(names));
			if (!mu.Chance(4))
				l = mu.Line(l);
			if (l.Contains("chk") || l.Contains(FuzzRig.Fa))
				continue; // the rig's maps: not for hostile lines
			b.Write(Encoding.UTF8.GetBytes(l + (mu.Chance(20) ? "" : "\n")));
		}
		var bytes = b.ToArray();
		if (bytes.Length == 0 || FuzzSamples.Huge(Encoding.UTF8.GetString(bytes)))
			return;
		bool cut = mu.Chance(10);
		if (cut)
			bytes = bytes[..r.Next(bytes.Length)];
		var input = Encoding.UTF8.GetString(bytes);
		var pass = Enumerable.Range(0, mu.Chance(3) ? r.Next(1, 4) : 0).Select(_ => FuzzFds.Make(mu.Pick(FuzzFds.Kinds))).ToArray();
		using var c = new FuzzConn(rig.Root);
		try
		{
			c.Send(bytes, pass);
		}
		finally
		{
			foreach (var fd in pass)
				Posix.Close(fd);
		}
		if (cut)
			return; // gone before the line ended: no answer owed
		// As many answers as pagerd's own line splitter gives lines and
		// refusals of overlong ones; the last line may lack its newline.
		int want = 0;
		var lb = new LineBuffer();
		lb.Feed(bytes, _ => want++, _ => want++);
		for (int i = 0; i < want; i++)
		{
			var a = c.Answer(Wait, out int fd);
			Posix.Close(fd);
			if (a is null)
			{
				rig.Findings.Add(Name, c.Eof ? $"pagerd closed the connection after {i} of {want} answers" : $"answer {i + 1} of {want} did not come in {Wait / 1000} s", input);
				return;
			}
			Judge(a, input);
		}
	}

	void Judge(List<string> a, string input)
	{
		if (a.FirstOrDefault(l => l.StartsWith("malformed")) is { } bad)
			rig.Findings.Add(Name, $"a reply that is not ok N and N lines, or err: {bad}", input);
		else if (a[0].Contains("internal error"))
			rig.Findings.Add(Name, a[0], input);
	}

	/// What is wrong, if anything, with one attach carried to its uffd.
	enum Fault { None, Fd, Unregistered, Events, NoFd, TwoFds, Base, Unaligned, Private, Anon, Short, Mode, NotAttached }

	void Attach(Random r)
	{
		var fault = (Fault)r.Next(Enum.GetValues<Fault>().Length);
		// Half the time the one thing wrong is nothing.
		if (r.Next(2) == 0)
			fault = Fault.None;
		bool ro = r.Next(2) == 0;
		using var c = new FuzzConn(rig.Root);
		string input = $"attach fa, then a uffd with {fault}, mode={(ro ? "ro" : "rw")}";
		c.Send($"attach fa mode={Wire.Mode(ro)}");
		var a = c.Answer(Wait, out int memfd);
		if (a is null || a[0] != "ok 1" || memfd < 0)
		{
			Posix.Close(memfd);
			rig.Findings.Add(Name, $"attach fa: {(a is null ? "no answer" : string.Join(" | ", a))}", input);
			return;
		}
		var info = AttachInfo.Parse(a[1]);
		long len = info.Length;
		int prot = LibC.PROT_READ | (ro ? 0 : LibC.PROT_WRITE);
		void* mem = fault switch
		{
			Fault.Private => LibC.mmap(null, (size_t)(ulong)len, prot, LibC.MAP_PRIVATE, memfd, 0),
			Fault.Anon => LibC.mmap(null, (size_t)(ulong)len, prot, LibC.MAP_SHARED | LibC.MAP_ANONYMOUS, -1, 0),
			Fault.Short => LibC.mmap(null, (size_t)(ulong)(len / 2), prot, LibC.MAP_SHARED, memfd, 0),
			_ => LibC.mmap(null, (size_t)(ulong)len, prot, LibC.MAP_SHARED, memfd, 0),
		};
		Posix.Close(memfd);
		if (mem == LibC.MAP_FAILED)
			throw new SysException("mmap", Kernel.Sys.Errno);
		ulong @base = (ulong)mem;
		Userfaultfd? u = null;
		int fd = -1;
		try
		{
			if (fault is Fault.Fd)
				fd = FuzzFds.Make(FuzzFds.NotUffd[r.Next(FuzzFds.NotUffd.Length)]);
			else
			{
				ulong wp = ro ? 0 : Uffd.UFFD_FEATURE_PAGEFAULT_FLAG_WP | Uffd.UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
				// Events a pager has no use for, which pagerd must read and pass over.
				ulong events = fault is Fault.Events ? Uffd.UFFD_FEATURE_EVENT_REMAP | Uffd.UFFD_FEATURE_EVENT_REMOVE | Uffd.UFFD_FEATURE_EVENT_UNMAP : 0;
				u = Userfaultfd.Create(Uffd.UFFD_FEATURE_MISSING_SHMEM | wp, Uffd.UFFD_FEATURE_THREAD_ID | Uffd.UFFD_FEATURE_POISON | events);
				if (fault is not (Fault.Unregistered or Fault.Anon or Fault.Private or Fault.Short))
					u.Register(@base, (ulong)len, Uffd.UFFDIO_REGISTER_MODE_MISSING | (ro ? 0 : Uffd.UFFDIO_REGISTER_MODE_WP));
				fd = u.Fd;
			}
			ulong sent = fault switch
			{
				Fault.Base => r.Next(3) switch { 0 => @base + 4096, 1 => @base - 4096, _ => 0xfffffffffffff000 },
				Fault.Unaligned => @base + (ulong)r.Next(1, 4096),
				_ => @base,
			};
			if (fault is Fault.NotAttached)
			{
				c.Send("detach fa");
				c.Answer(Wait, out _);
			}
			string mode = fault is Fault.Mode ? $"mode={Wire.Mode(!ro)}" : r.Next(2) == 0 ? "" : $"mode={Wire.Mode(ro)}";
			int[] pass = fault switch
			{
				Fault.NoFd => [],
				Fault.TwoFds => [FuzzFds.Make("pipe"), fd],
				_ => [fd],
			};
			c.Send($"uffd fa base=0x{sent:x} {mode}", pass);
			if (fault is Fault.TwoFds)
				Posix.Close(pass[0]);
			var ans = c.Answer(Wait, out int extra);
			Posix.Close(extra);
			if (ans is null)
			{
				rig.Findings.Add(Name, "uffd: no answer", input);
				return;
			}
			Judge(ans, input);
			// Only a userfaultfd for the right mapping, in the attach's mode,
			// may be taken; pagerd registers one that the client did not.
			// (With two, the line's first is the one it takes: the pipe.)
			bool right = fault is Fault.None or Fault.Unregistered or Fault.Events;
			if (right != (ans[0] == "ok 0"))
				rig.Findings.Add(Name, $"uffd with {fault}: {ans[0]}", input);
			if (ans[0] == "ok 0" && right)
				Touch(r, (byte*)mem, len, input);
			if (r.Next(2) == 0)
			{
				c.Send("detach fa");
				c.Answer(Wait, out _);
			}
		}
		finally
		{
			if (u is null)
				Posix.Close(fd);
			u?.Dispose();
			LibC.munmap(mem, (size_t)(ulong)(fault is Fault.Short ? len / 2 : len));
		}
	}

	/// Reads a page of the attached memory, in native code on a thread of
	/// its own, bounded: it must be the page of fa's source.
	void Touch(Random r, byte* mem, long len, string input)
	{
		long off = r.NextInt64(len / 4096) * 4096;
		var got = new byte[4096];
		var t = Task.Run(() =>
		{
			fixed (byte* g = got)
				Posix.Memcpy(g, mem + off, 4096);
		});
		if (!t.Wait(TimeSpan.FromSeconds(10)))
			rig.Findings.Fatal(Name, $"a read of page {off / 4096} of an attached map did not end in 10 s", input);
		else if (!got.AsSpan().SequenceEqual(source.AsSpan((int)off, 4096)))
			rig.Findings.Add(Name, $"page {off / 4096} of an attached map is not its source's", input);
	}
}
