using Pager.Client;
using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Pagefill;

/// Where replies go: standard output or the map's fill FIFO, which other
/// pagers may write too. Every message is one write(2) of at most PIPE_BUF
/// bytes, so messages never interleave; inline data goes as data frames.
/// Line replies are gathered, whole, into writes of up to PIPE_BUF until
/// Flush, so that a batch of requests is answered in one write and wakes
/// pagerd once.
/// When pagerd restarts, the fill FIFO is made afresh and writes to the
/// old one fail with EPIPE: the FIFO is opened again by its name and the
/// write made again, whole, to the next pagerd.
sealed class Replies(int fd, string what, Log log)
{
	readonly string? path = Fifo.PathOf(fd);
	readonly Lock l = new();
	readonly byte[] batch = new byte[Format.PipeBuf];
	int batched;

	public void Send(List<Msg> replies)
	{
		// One reply at a time, so that -v's log reads in the order sent.
		lock (l)
			foreach (var r in replies)
				Send(r);
	}

	/// Writes what is gathered.
	public void Flush()
	{
		lock (l)
			FlushBatch();
	}

	void FlushBatch()
	{
		if (batched > 0)
			Deliver(() => Posix.WriteAll(fd, batch.AsSpan(0, batched), what));
		batched = 0;
	}

	void Send(Msg r)
	{
		if (r.Verb != Verb.Data)
		{
			// The usual reply is formatted straight into the batch; a longer
			// one is cut to fit first.
			int max = Format.MaxHeader(r) + 1;
			var b = max <= batch.Length ? null : Fit(r);
			if (batched + (b?.Length ?? max) > batch.Length)
				FlushBatch();
			if (b is null)
			{
				batched += Format.Header(r, batch.AsSpan(batched));
				batch[batched++] = (byte)'\n';
			}
			else
			{
				b.CopyTo(batch, batched);
				batched += b.Length;
			}
			log.Verbose($"-> {Format.Header(r)}");
			return;
		}
		FlushBatch();
		int frames = 0;
		Deliver(() =>
		{
			frames = 0;
			foreach (var f in Format.DataFrames(r.Map, r.Off, r.Payload))
			{
				Posix.WriteAll(fd, f, what);
				frames++;
			}
		});
		log.Verbose($"-> {Format.Header(r)} in {frames} frames");
	}

	/// Does write, again on the next pagerd's FIFO if this one's is gone.
	void Deliver(Action write)
	{
		for (;;)
		{
			try
			{
				write();
				return;
			}
			catch (SysException e) when (e.Errno == Errno.EPIPE && path is not null)
			{
				int f = Fifo.AwaitReader(path);
				if (f < 0)
					throw;
				Posix.MoveFd(f, fd, path);
				log.Verbose($"{path}: opened again");
			}
		}
	}

	/// The line of r, its message (error and fail) or its last key's value
	/// (synced's err=) cut short until it fits in one PIPE_BUF write.
	static byte[] Fit(Msg r)
	{
		for (;;)
		{
			var b = Format.Bytes(r);
			int over = b.Length - Format.PipeBuf;
			if (over <= 0)
				return b;
			// Every character is a byte or more, so cutting over of them and
			// adding three dots saves at least over bytes.
			if (Verbs.HasText(r.Verb) && r.Text.Length > 3)
				r.Text = Cut(r.Text, over + 3);
			else if (r.Keys.Count > 0 && r.Keys[^1].Value.Length > 3)
				r.Keys[^1] = new(r.Keys[^1].Key, Cut(r.Keys[^1].Value, over + 3));
			else
				return b;
		}
	}

	static string Cut(string s, int n)
	{
		int keep = Math.Max(0, s.Length - n);
		if (keep > 0 && char.IsHighSurrogate(s[keep - 1]))
			keep--;
		return s[..keep] + "...";
	}
}
