using System.Collections.Concurrent;
using Pager.Protocol;
using Pager.Sources;

namespace Pager.Pagefill;

/// Answers read, write and sync requests from a source. With more than
/// one request in flight, requests are served on worker threads and their
/// replies may go out in any order, within what Order keeps.
sealed class Responder(Source src, Replies replies, PagefillArgs a, Log log)
{
	readonly Order order = new();

	public void Run(Reader rd)
	{
		if (a.InFlight == 1)
		{
			// Replies go out when no request waits, in one write for a batch.
			for (Msg? m; (m = rd.Next()) is not null;)
			{
				Serve(m, order.Admit(m));
				if (!rd.Buffered)
					replies.Flush();
			}
			replies.Flush();
			return;
		}
		var q = new BlockingCollection<(Msg, long)>();
		var slots = new SemaphoreSlim(a.InFlight);
		var workers = new Thread[a.InFlight];
		for (int i = 0; i < workers.Length; i++)
		{
			workers[i] = new Thread(() => Work(q, slots)) { IsBackground = true };
			workers[i].Start();
		}
		for (Msg? m; (m = rd.Next()) is not null;)
		{
			slots.Wait();
			q.Add((m, order.Admit(m)));
		}
		q.CompleteAdding();
		foreach (var w in workers)
			w.Join();
	}

	void Work(BlockingCollection<(Msg, long)> q, SemaphoreSlim slots)
	{
		try
		{
			foreach (var (m, t) in q.GetConsumingEnumerable())
			{
				Serve(m, t);
				replies.Flush();
				slots.Release();
			}
		}
		catch (Exception e)
		{
			Program.Fail(e);
		}
	}

	/// Serves m, whose ticket from order is t.
	void Serve(Msg m, long t)
	{
		log.Verbose($"<- {m.Line}");
		switch (m.Verb)
		{
		case Verb.Read:
			Read(m, t);
			break;
		case Verb.Write:
			Write(m, t);
			break;
		case Verb.Sync:
			Sync(m, t);
			break;
		default:
			log.Verbose($"ignored: {Verbs.Name(m.Verb)} is not a request");
			break;
		}
	}

	void Read(Msg m, long t)
	{
		var w = Widen(m);
		order.Wait(t, w.Off, w.End);
		List<Msg> r;
		if (src.Inline && w.Need - w.Off > Decoder.MaxPayload)
			r = [Error(w, $"{w.Need - w.Off} bytes is too many for inline data")];
		else
		{
			try
			{
				r = src.Serve(w);
			}
			catch (Exception e)
			{
				// A source that fails unexpectedly fails this request, not the pager.
				r = [Error(w, e.Message)];
			}
		}
		replies.Send(r);
	}

	/// Stores the bytes, after the earlier writes to them; the write is
	/// answered, and a sync may pass it, once the reply is out.
	void Write(Msg m, long t)
	{
		Msg r;
		if (Source.RoundDown(m.Off) != m.Off || Source.RoundDown(m.Len) != m.Len)
			r = Source.FailWrite(m, $"{src.Name}: range is not whole pages");
		else
		{
			order.Wait(t, m.Off, m.End);
			// The last page's bytes past the map's end are not the
			// store's: a file would grow by them.
			if (Size(m) is long size && m.End > size)
				m.Payload = m.Payload![..(int)Math.Clamp(size - m.Off, 0, m.Len)];
			try
			{
				r = src.Write(m);
			}
			catch (Exception e)
			{
				r = Source.FailWrite(m, $"{src.Name}: {e.Message}");
			}
		}
		replies.Send([r]);
		order.Done(t);
	}

	/// Once every earlier write is answered, makes them durable.
	void Sync(Msg m, long t)
	{
		order.Wait(t, 0, long.MaxValue);
		string? err;
		try
		{
			err = src.Sync();
		}
		catch (Exception e)
		{
			err = $"{src.Name}: {e.Message}";
		}
		var r = new Msg { Verb = Verb.Synced, Map = m.Map, Seq = m.Seq };
		if (err is not null)
			r.Keys.Add(new("err", err));
		replies.Send([r]);
	}

	/// The request's range in whole pages, with read-ahead: up to -a bytes
	/// from its start, but not past the map's end if size= says where that is.
	Want Widen(Msg m)
	{
		long off = Source.RoundDown(m.Off), need = Source.RoundUp(m.End);
		long end = Math.Max(need, off + Math.Min(a.Ahead, long.MaxValue - off));
		if (Size(m) is long size)
			end = Math.Max(need, Math.Min(end, Source.RoundUp(size)));
		if (src.Inline)
			end = Math.Max(need, Math.Min(end, off + Decoder.MaxPayload));
		return new Want(m.Map, off, need, end);
	}

	long? Size(Msg m)
	{
		var s = m.Key("size");
		if (s is null)
			return null;
		try
		{
			return Num.Parse(s, "size");
		}
		catch (ProtocolException e)
		{
			log.Verbose($"ignored: {e.Message}");
			return null;
		}
	}

	Msg Error(Want w, string why) => Source.Fail(w.Map, w.Off, w.Need, $"{src.Name}: {why}");
}
