using System.Collections.Concurrent;
using Pager.Protocol;
using Pager.Sources;

namespace Pager.Pagefill;

/// Answers read requests from a source. With more than one request in
/// flight, requests are served on worker threads and their replies may
/// go out in any order.
sealed class Server(Source src, Replies replies, Args a, Log log)
{
	public void Run(Reader rd)
	{
		if (a.InFlight == 1)
		{
			for (Msg? m; (m = rd.Next()) is not null;)
				Serve(m);
			return;
		}
		var q = new BlockingCollection<Msg>();
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
			q.Add(m);
		}
		q.CompleteAdding();
		foreach (var w in workers)
			w.Join();
	}

	void Work(BlockingCollection<Msg> q, SemaphoreSlim slots)
	{
		try
		{
			foreach (var m in q.GetConsumingEnumerable())
			{
				Serve(m);
				slots.Release();
			}
		}
		catch (Exception e)
		{
			Program.Fail(e);
		}
	}

	public void Serve(Msg m)
	{
		log.Verbose($"<- {m.Line}");
		if (m.Verb != Verb.Read)
		{
			log.Verbose($"ignored: {Verbs.Name(m.Verb)} is not a request");
			return;
		}
		var w = Widen(m);
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
