using System.Buffers.Binary;
using System.Net.Sockets;
using Pager.Kernel;

namespace Pager.NineP;

/// One connection to a 9P2000.L server for the file named by a Dial.
/// One request is in flight at a time, so the tag is fixed.
/// Any failure of the connection itself marks it Dead; it is not reused.
sealed class Conn : IDisposable
{
	const ushort Tag = 1;
	const string Version = "9P2000.L";

	readonly Socket sock;
	readonly Dial dial;
	readonly Buf tx, rx;

	public int Msize { get; private set; }
	/// Most data bytes in one Tread or Twrite.
	public int Iounit { get; private set; }
	public bool Dead { get; private set; }

	Conn(Socket sock, Dial dial, int msize)
	{
		this.sock = sock;
		this.dial = dial;
		tx = new Buf(msize, Botch);
		rx = new Buf(msize, Botch);
		Msize = msize;
		Iounit = msize - Fcall.IoHdr;
	}

	/// Connects, giving up after timeout; the same timeout then bounds
	/// every send and every reply.
	public static Conn Dial(Dial d, int msize, TimeSpan timeout)
	{
		var s = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
		try
		{
			// Both take whole milliseconds that fit an int: about 24 days.
			int ms = (int)Math.Clamp(Math.Ceiling(timeout.TotalMilliseconds), 1, int.MaxValue - 1);
			using var cts = new CancellationTokenSource(ms);
			s.ConnectAsync(d.Host, d.Port, cts.Token).AsTask().GetAwaiter().GetResult();
			s.SendTimeout = s.ReceiveTimeout = ms;
			return new Conn(s, d, msize);
		}
		catch (OperationCanceledException)
		{
			s.Dispose();
			throw Failed(d, Errno.ETIMEDOUT);
		}
		catch (SocketException e)
		{
			s.Dispose();
			throw Failed(d, e);
		}
	}

	public void Dispose()
	{
		Dead = true;
		sock.Dispose();
	}

	// size[4] Tversion tag[2] msize[4] version[s]
	// size[4] Rversion tag[2] msize[4] version[s]
	public void Negotiate()
	{
		tx.Begin(Fcall.Tversion, Fcall.NoTag);
		tx.P4((uint)Msize);
		tx.Ps(Version);
		Rpc(Fcall.Tversion, Fcall.NoTag, "version");
		uint m = rx.G4();
		string v = rx.Gs();
		if (v != Version)
			throw Botch($"server speaks '{v}', not {Version}");
		if (m < NinePOptions.MinMsize || m > Msize)
			throw Botch($"server offers msize {m}, asked for {Msize}");
		Msize = (int)m;
		Iounit = Msize - Fcall.IoHdr;
	}

	// size[4] Tattach tag[2] fid[4] afid[4] uname[s] aname[s] n_uname[4]
	// size[4] Rattach tag[2] qid[13]
	public void Attach(uint fid, string uname, uint uid, string aname)
	{
		tx.Begin(Fcall.Tattach, Tag);
		tx.P4(fid);
		tx.P4(Fcall.NoFid);
		tx.Ps(uname);
		tx.Ps(aname);
		tx.P4(uid);
		Rpc(Fcall.Tattach, Tag, $"attach '{aname}'");
		rx.Gqid();
	}

	/// Walks newfid to dial's path from fid, at most MaxWelem names a message.
	public void Walk(uint fid, uint newfid)
	{
		string[] names = dial.Elems;
		int i = 0;
		do
		{
			int n = Math.Min(names.Length - i, Fcall.MaxWelem);
			try
			{
				Walk1(i == 0 ? fid : newfid, newfid, names.AsSpan(i, n));
			}
			catch (NinePException) when (i > 0 && !Dead)
			{
				// The first rounds made newfid; do not leak it.
				Forget(newfid);
				throw;
			}
			i += n;
		} while (i < names.Length);
	}

	// size[4] Twalk tag[2] fid[4] newfid[4] nwname[2] nwname*(wname[s])
	// size[4] Rwalk tag[2] nwqid[2] nwqid*(wqid[13])
	void Walk1(uint fid, uint newfid, ReadOnlySpan<string> names)
	{
		tx.Begin(Fcall.Twalk, Tag);
		tx.P4(fid);
		tx.P4(newfid);
		tx.P2((ushort)names.Length);
		foreach (var s in names)
			tx.Ps(s);
		string what = "walk " + dial.Path;
		Rpc(Fcall.Twalk, Tag, what);
		int nq = rx.G2();
		// A walk that fails after the first name is not an error,
		// just short; newfid is then not made.
		if (nq < names.Length)
			throw Error(what, Errno.ENOENT);
		if (nq > names.Length)
			throw Botch($"{nq} qids for {names.Length} names");
	}

	// size[4] Tlopen tag[2] fid[4] flags[4]
	// size[4] Rlopen tag[2] qid[13] iounit[4]
	public void Lopen(uint fid, int flags)
	{
		tx.Begin(Fcall.Tlopen, Tag);
		tx.P4(fid);
		tx.P4((uint)flags);
		Rpc(Fcall.Tlopen, Tag, "open " + dial.Path);
		rx.Gqid();
		uint io = rx.G4();
		if (io > 0 && io < Iounit)
			Iounit = (int)io;
	}

	// size[4] Tread tag[2] fid[4] offset[8] count[4]
	// size[4] Rread tag[2] count[4] data[count]
	public int Read(uint fid, long off, Span<byte> buf)
	{
		int want = Math.Min(buf.Length, Iounit);
		tx.Begin(Fcall.Tread, Tag);
		tx.P4(fid);
		tx.P8((ulong)off);
		tx.P4((uint)want);
		Rpc(Fcall.Tread, Tag, "read " + dial.Path);
		uint n = rx.G4();
		if (n > want)
			throw Botch($"Rread of {n} bytes for {want}");
		rx.Gdata((int)n).CopyTo(buf);
		return (int)n;
	}

	// size[4] Twrite tag[2] fid[4] offset[8] count[4] data[count]
	// size[4] Rwrite tag[2] count[4]
	public int Write(uint fid, long off, ReadOnlySpan<byte> data)
	{
		int n = Math.Min(data.Length, Iounit);
		tx.Begin(Fcall.Twrite, Tag);
		tx.P4(fid);
		tx.P8((ulong)off);
		tx.P4((uint)n);
		tx.Pdata(data[..n]);
		Rpc(Fcall.Twrite, Tag, "write " + dial.Path);
		uint got = rx.G4();
		if (got > n)
			throw Botch($"Rwrite of {got} bytes for {n}");
		// Zero would have the caller loop for ever.
		if (got == 0 && n > 0)
			throw Error("write " + dial.Path, Errno.EIO);
		return (int)got;
	}

	// size[4] Tfsync tag[2] fid[4] datasync[4]
	// size[4] Rfsync tag[2]
	// diod's protocol.md omits datasync; Linux sends it and diod ignores it.
	public void Fsync(uint fid)
	{
		tx.Begin(Fcall.Tfsync, Tag);
		tx.P4(fid);
		tx.P4(0);
		Rpc(Fcall.Tfsync, Tag, "fsync " + dial.Path);
	}

	// size[4] Tgetattr tag[2] fid[4] request_mask[8]
	// size[4] Rgetattr tag[2] valid[8] qid[13] mode[4] uid[4] gid[4] nlink[8]
	//                  rdev[8] size[8] blksize[8] blocks[8]
	//                  atime_sec[8] atime_nsec[8] mtime_sec[8] mtime_nsec[8]
	//                  ctime_sec[8] ctime_nsec[8] btime_sec[8] btime_nsec[8]
	//                  gen[8] data_version[8]
	public long Size(uint fid)
	{
		tx.Begin(Fcall.Tgetattr, Tag);
		tx.P4(fid);
		tx.P8(Fcall.GetattrBasic);
		Rpc(Fcall.Tgetattr, Tag, "getattr " + dial.Path);
		ulong valid = rx.G8();
		rx.Gqid();
		rx.G4();  // mode
		rx.G4();  // uid
		rx.G4();  // gid
		rx.G8();  // nlink
		rx.G8();  // rdev
		ulong size = rx.G8();
		if ((valid & Fcall.GetattrSize) == 0)
			throw Botch("Rgetattr without size");
		if (size > long.MaxValue)
			throw Botch($"Rgetattr with size {size}, more than a file can hold");
		return (long)size;
	}

	// size[4] Tclunk tag[2] fid[4]
	// size[4] Rclunk tag[2]
	public void Clunk(uint fid)
	{
		tx.Begin(Fcall.Tclunk, Tag);
		tx.P4(fid);
		Rpc(Fcall.Tclunk, Tag, "clunk " + dial.Path);
	}

	/// Clunks fid, ignoring failure: the caller is already failing.
	public void Forget(uint fid)
	{
		try
		{
			Clunk(fid);
		}
		catch (NinePException)
		{
		}
	}

	/// Sends tx and leaves the reply in rx, past its header.
	void Rpc(byte type, ushort tag, string what)
	{
		if (Dead)
			throw Failed(dial, Errno.ECONNRESET);
		tx.Seal();
		int size;
		try
		{
			SendAll(tx.B.AsSpan(0, tx.N));
			RecvAll(rx.B.AsSpan(0, 4));
			size = (int)BinaryPrimitives.ReadUInt32LittleEndian(rx.B);
			if (size < Fcall.Hdr || size > rx.B.Length)
				throw Botch($"reply of {(uint)size} bytes, msize {Msize}");
			RecvAll(rx.B.AsSpan(4, size - 4));
		}
		catch (SocketException e)
		{
			Dead = true;
			throw Failed(dial, e);
		}
		rx.N = 4;
		rx.End = size;
		byte rtype = rx.G1();
		if (rx.G2() != tag)
			throw Botch($"{Fcall.Name(rtype)} with the wrong tag");
		if (rtype == Fcall.Rlerror && size == Fcall.Hdr + 4)
			throw Error(what, (int)rx.G4());
		if (rtype != type + 1)
			throw Botch($"{Fcall.Name(rtype)} in reply to {Fcall.Name(type)}");
	}

	void SendAll(ReadOnlySpan<byte> b)
	{
		while (b.Length > 0)
			b = b[sock.Send(b)..];
	}

	void RecvAll(Span<byte> b)
	{
		while (b.Length > 0)
		{
			int n = sock.Receive(b);
			if (n == 0)
			{
				Dead = true;
				throw Failed(dial, Errno.ECONNRESET);
			}
			b = b[n..];
		}
	}

	NinePException Error(string what, int errno) => new($"9p {dial.Address}: {what}: {Text(errno)}", errno);

	/// The server broke the protocol; the connection cannot be trusted.
	NinePException Botch(string why)
	{
		Dead = true;
		return new($"9p {dial.Address}: protocol botch: {why}", Errno.EPROTO);
	}

	static NinePException Failed(Dial d, int errno) => new($"9p {d.Address}: {Text(errno)}", errno);

	// On Linux, NativeErrorCode is the errno.
	static NinePException Failed(Dial d, SocketException e) =>
		e.SocketErrorCode is SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData
			? new($"9p {d.Address}: {Lower(e.Message)}", e.NativeErrorCode)
			: Failed(d, e.SocketErrorCode == SocketError.TimedOut ? Errno.ETIMEDOUT : e.NativeErrorCode);

	/// strerror as Plan 9 writes errors: lower case.
	public static string Text(int errno) => Lower(Sys.StrError(errno));

	static string Lower(string s) => s.Length > 0 ? char.ToLowerInvariant(s[0]) + s[1..] : s;
}
