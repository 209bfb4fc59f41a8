using Pager.Kernel;

namespace Pager.NineP;

/// A file on a 9P2000.L server, for a pager to read and write back.
///
/// The server may go away and come back. A call that finds the
/// connection dead, or not yet made, dials again, re-opens the file and
/// retries once; while the server is unreachable calls fail with a
/// NinePException such as "9p tcp!127.0.0.1!5640: connection refused".
/// Calls are serialised: one request is on the wire at a time.
public sealed class RemoteFile : IDisposable
{
	const uint RootFid = 0;
	const uint FileFid = 1;
	const int O_RDONLY = 0;
	const int O_RDWR = 2;

	readonly object mu = new();
	readonly NinePOptions opt;
	Conn? conn;
	bool closed;

	public Dial Dial { get; }
	/// The attach name: the export on the server.
	public string Aname { get; }

	RemoteFile(Dial dial, string aname, NinePOptions opt)
	{
		Dial = dial;
		Aname = aname;
		this.opt = opt;
	}

	/// Opens source (9p:tcp!HOST!PORT/PATH) in the export aname. It
	/// connects at once, so a bad address or path is reported here.
	public static RemoteFile Open(string source, string? aname = null, NinePOptions? opt = null)
	{
		opt ??= new();
		ArgumentOutOfRangeException.ThrowIfLessThan(opt.Msize, NinePOptions.MinMsize, nameof(opt.Msize));
		ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(opt.Timeout, TimeSpan.Zero, nameof(opt.Timeout));
		var f = new RemoteFile(Dial.Parse(source), aname ?? "", opt);
		lock (f.mu)
			f.conn = f.Connect();
		return f;
	}

	/// The file's size now, from the server.
	public long Size => Do(c => c.Size(FileFid));

	/// Reads at off until buf is full or the file ends; returns the count.
	public int Read(long off, Span<byte> buf)
	{
		ArgumentOutOfRangeException.ThrowIfNegative(off);
		lock (mu)
			for (bool again = true; ; again = false)
			{
				var c = Ready(ref again);
				try
				{
					int n = 0;
					while (n < buf.Length)
					{
						int m = c.Read(FileFid, off + n, buf[n..]);
						if (m == 0)
							break;
						n += m;
					}
					return n;
				}
				catch (NinePException e) when (Drop(c, e) && again)
				{
				}
			}
	}

	/// Writes all of data at off, in as many messages as msize needs.
	public void Write(long off, ReadOnlySpan<byte> data)
	{
		ArgumentOutOfRangeException.ThrowIfNegative(off);
		lock (mu)
			for (bool again = true; ; again = false)
			{
				var c = Ready(ref again);
				try
				{
					for (int n = 0; n < data.Length;)
						n += c.Write(FileFid, off + n, data[n..]);
					return;
				}
				catch (NinePException e) when (Drop(c, e) && again)
				{
				}
			}
	}

	/// Makes what was written durable on the server.
	public void Sync() => Do(c =>
	{
		c.Fsync(FileFid);
		return 0;
	});

	public void Dispose()
	{
		lock (mu)
		{
			closed = true;
			if (conn is not null && !conn.Dead)
				conn.Forget(FileFid);
			conn?.Dispose();
			conn = null;
		}
	}

	T Do<T>(Func<Conn, T> op)
	{
		lock (mu)
			for (bool again = true; ; again = false)
			{
				var c = Ready(ref again);
				try
				{
					return op(c);
				}
				catch (NinePException e) when (Drop(c, e) && again)
				{
				}
			}
	}

	/// The connection, dialled if need be. A fresh one is not worth a
	/// retry: whatever failed on it will fail again.
	Conn Ready(ref bool again)
	{
		ObjectDisposedException.ThrowIf(closed, this);
		if (conn is null)
		{
			conn = Connect();
			again = false;
		}
		return conn;
	}

	/// Forgets c if the failure killed it, and says whether a new
	/// connection might do better. A timeout is not retried: the server
	/// is there but stuck, and a second wait would double the caller's.
	bool Drop(Conn c, NinePException e)
	{
		if (!c.Dead)
			return false;
		c.Dispose();
		if (conn == c)
			conn = null;
		return e.Errno != Errno.ETIMEDOUT;
	}

	Conn Connect()
	{
		var c = Conn.Dial(Dial, opt.Msize, opt.Timeout);
		try
		{
			c.Negotiate();
			c.Attach(RootFid, Environment.UserName, Posix.Geteuid(), Aname);
			c.Walk(RootFid, FileFid);
			c.Lopen(FileFid, opt.ReadOnly ? O_RDONLY : O_RDWR);
			// The root is not needed again, and a server's fids are not free.
			c.Clunk(RootFid);
			return c;
		}
		catch
		{
			c.Dispose();
			throw;
		}
	}
}
