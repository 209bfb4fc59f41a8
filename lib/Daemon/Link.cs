using System.Text;
using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Daemon;

/// A map's directory in the namespace: fault (requests out), fill
/// (replies in), ctl (control messages in) and status (a snapshot out).
sealed class Link : IDisposable
{
	readonly Map map;
	readonly string dir, status;
	readonly FifoOut fault;
	readonly FifoIn fill, ctl;
	readonly Protocol.Decoder dec = new();
	readonly LineBuffer ctlLines = new();
	/// Every read request is made in this one, sent at once.
	readonly Msg read = new() { Verb = Verb.Read };

	public Link(Map map, string dir, Loop loop, Action<Map, string> onCtl)
	{
		this.map = map;
		this.dir = dir;
		Posix.Mkdir(dir, 0x1c0);
		fault = new FifoOut(loop, Path.Combine(dir, "fault"), map.PagerGone);
		fill = new FifoIn(loop, Path.Combine(dir, "fill"), Replies, Hangup);
		ctl = new FifoIn(loop, Path.Combine(dir, "ctl"),
			b => ctlLines.Feed(b, l => onCtl(map, l), map.BadInput), () => ctlLines.End(l => onCtl(map, l)));
		status = Path.Combine(dir, "status");
		Posix.Mkfifo(status, 0x180);
	}

	public bool Attached => fault.Open;

	/// A read request; t is when it was asked, in microseconds since the
	/// map was made.
	public void Send(Req r, long size, long t)
	{
		var m = read;
		(m.Map, m.Off, m.Len) = (map.Name, r.Off, r.Len);
		m.Keys.Clear();
		if (r.Tid != 0)
			m.Keys.Add(new("tid", r.Tid.ToString()));
		m.Keys.Add(new("size", size.ToString()));
		m.Keys.Add(new("t", t.ToString()));
		fault.Send(m);
	}

	/// Bytes queued for the fault FIFO that the pager has not read.
	public long Backlog => fault.Backlog;

	public void SendWrite(long off, ReadOnlySpan<byte> bytes)
	{
		var m = Msg.Range(Verb.Write, map.Name, off, bytes.Length);
		m.Keys.Add(new("size", map.Size.ToString()));
		m.Keys.Add(new("t", Now()));
		fault.Send(m, bytes);
	}

	public void SendSync(long seq)
	{
		var m = new Msg { Verb = Verb.Sync, Map = map.Name, Seq = seq };
		m.Keys.Add(new("t", Now()));
		fault.Send(m);
	}

	/// A comment saying that the read asked at t was answered wait
	/// microseconds later: `# late map off len t=T wait=W`.
	public void SendLate(Req r, long t, long wait) =>
		fault.Send($"# late {map.Name} {r.Off} {r.Len} t={t} wait={wait}");

	string Now() => map.Micros(System.Diagnostics.Stopwatch.GetTimestamp()).ToString();

	void Replies(ReadOnlySpan<byte> b) => dec.Feed(b, map.Reply, map.BadInput);

	void Hangup()
	{
		string? cut = null;
		dec.End(e => cut = e);
		map.FillHangup(cut);
	}

	/// Looks for a pager that opened fault, and a reader of status.
	public void Tick()
	{
		if (fault.Probe())
			map.PagerCame();
		int fd = Posix.TryOpen(status, Posix.O_WRONLY | Posix.O_NONBLOCK);
		if (fd < 0)
			return;
		try
		{
			Posix.Write(fd, Encoding.UTF8.GetBytes(Status.Text(map.Status())), status);
		}
		catch (SysException)
		{
			// The reader left already.
		}
		Posix.Close(fd);
	}

	public void Dispose()
	{
		fault.Dispose();
		fill.Dispose();
		ctl.Dispose();
		Posix.Unlink(status);
		try
		{
			Directory.Delete(dir);
		}
		catch (IOException)
		{
		}
	}
}
