using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Daemon;

/// The replies a pager writes to the map's fill FIFO.
public sealed unsafe partial class Map
{
	readonly Dictionary<string, int> files = [];

	public void Reply(Msg m)
	{
		try
		{
			if (m.Map != Name)
				throw new ProtocolException($"reply names map '{m.Map}' on the fill FIFO of map {Name}");
			if (m.Verb is not (Verb.Data or Verb.Synced))
				CheckRange(m.Off, m.Len);
			switch (m.Verb)
			{
			case Verb.Data: Data(m); break;
			case Verb.File: FromFile(m); break;
			case Verb.Zero: Zero(m.Off, m.Len); break;
			case Verb.Error: Error(m.Off, m.Len, "pager: " + m.Text); break;
			case Verb.Punt: Punt(m.Off, m.Len); break;
			case Verb.Evict: Evict(m.Off, m.Len); break;
			case Verb.Ok: WriteDone(m.Off, m.Len); break;
			case Verb.Fail: WriteFailed(m.Off, m.Len, "pager: " + m.Text); break;
			case Verb.Synced: Synced(m.Seq, m.Key("err")); break;
			default: throw new ProtocolException($"'{Verbs.Name(m.Verb)}' is not a reply pagerd takes");
			}
		}
		catch (ProtocolException e)
		{
			BadInput($"{e.Message}: '{Protocol.Parse.Clip(m.Line)}'");
		}
	}

	/// Malformed input on a FIFO: recorded and logged; no page is touched.
	public void BadInput(string text) => Record(0, 0, "bad input: " + text, tell: false);

	void FromFile(Msg m)
	{
		int fd;
		try
		{
			fd = OpenFile(m.Path);
		}
		catch (SysException e)
		{
			Error(m.Off, m.Len, $"file reply: {e.Message}");
			return;
		}
		for (long done = 0; done < m.Len; done += Scratch.Size)
		{
			long n = Math.Min(Scratch.Size, m.Len - done);
			var buf = Scratch.Span(n);
			int want = (int)Math.Clamp(Size - (m.Off + done), 0, n);
			int got;
			try
			{
				got = Posix.PRead(fd, buf[..want], m.FileOff + done, m.Path);
			}
			catch (SysException e)
			{
				Error(m.Off + done, n, $"file reply: {e.Message}");
				continue;
			}
			buf[got..].Clear(); // past the end of the file, or of the map
			Fill(m.Off + done, n, Scratch.Ptr);
		}
	}

	int OpenFile(string path)
	{
		if (files.TryGetValue(path, out int fd))
			return fd;
		if (files.Count >= 64)
			CloseFiles();
		fd = Posix.Open(path, Tmds.Linux.LibC.O_RDONLY);
		files[path] = fd;
		return fd;
	}

	void CloseFiles()
	{
		foreach (var fd in files.Values)
			Posix.Close(fd);
		files.Clear();
	}

	void Punt(long off, long len)
	{
		if (builtin.Exists)
		{
			outstanding.RemoveAll(r => r.Off >= off && r.End <= off + len);
			Serve(off, len);
		}
		else
			log($"map {Name}: {off} {len}: pager punted and there is no built-in source; waiting");
	}

	/// Inline data: whole pages go straight in; pieces of pages are
	/// gathered until every byte of the page has come.
	void Data(Msg m)
	{
		if (m.End > Length)
			throw new ProtocolException($"data {m.Off} {m.Len} is outside map {Name} (size {Size})");
		for (long p = m.Off / Page; p * Page < m.End; p++)
		{
			long ps = p * Page;
			int s = (int)(Math.Max(m.Off, ps) - ps), e = (int)(Math.Min(m.End, ps + Page) - ps);
			if (present[p])
				continue;
			var src = m.Payload.AsSpan((int)(ps + s - m.Off), e - s);
			if (s == 0 && e == Page && !stages.ContainsKey(p))
			{
				src.CopyTo(Scratch.Span(Page));
				Fill(ps, Page, Scratch.Ptr);
				continue;
			}
			Gather(p, s, src);
		}
	}

	void Gather(long p, int s, ReadOnlySpan<byte> src)
	{
		if (!stages.TryGetValue(p, out var st))
		{
			if (stages.Count >= 4096)
				throw new ProtocolException($"more than 4096 pages are waiting for the rest of their data");
			// Bytes past the end of the map count as given: they are zero.
			st = stages[p] = new Stage((int)Math.Min(Page, Size - p * Page));
		}
		if (!st.Add(s, src))
		{
			stages.Remove(p);
			throw new ProtocolException($"data overlaps data already given for page {p}");
		}
		if (!st.Full)
			return;
		stages.Remove(p);
		st.Bytes.CopyTo(Scratch.Span(Page));
		Fill(p * Page, Page, Scratch.Ptr);
	}

	/// Every writer of fill has closed it: a message or page cut short is
	/// an error, and nothing of it reaches a client.
	public void FillHangup(string? partial)
	{
		if (partial is not null)
			BadInput(partial);
		foreach (var p in stages.Keys)
			BadInput($"page {p} (offset {p * Page}) got only part of its data; dropped");
		stages.Clear();
		CloseFiles();
	}
}

/// A page being assembled from data pieces.
sealed class Stage(int limit)
{
	public readonly byte[] Bytes = new byte[Map.Page];
	readonly List<(int S, int E)> have = [];
	int count;

	public bool Full => count >= limit;

	/// Adds bytes at s; false if they overlap bytes already here.
	public bool Add(int s, ReadOnlySpan<byte> src)
	{
		int e = s + src.Length;
		if (have.Any(h => s < h.E && h.S < e))
			return false;
		have.Add((s, e));
		src.CopyTo(Bytes.AsSpan(s));
		count += Math.Min(e, limit) - Math.Min(s, limit);
		return true;
	}
}
