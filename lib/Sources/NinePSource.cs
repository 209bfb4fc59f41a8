using Pager.NineP;
using Pager.Protocol;

namespace Pager.Sources;

/// 9p:tcp!HOST!PORT/PATH: a file on a 9P2000.L server, in the export
/// named by SourceConfig.Aname. Map offset o is byte o of the file,
/// read into data replies; pages past its end are as for file:. Writes
/// are Twrites and a sync is a Tfsync. As with file:, reads go through a
/// read-only open and writes through a read-write one made at the first
/// write. A server that goes away fails the requests made meanwhile;
/// RemoteFile dials again for the next one.
public sealed class NinePSource : Source
{
	readonly string aname;
	readonly Lock l = new();
	RemoteFile? rd, wr;

	public NinePSource(string spec, SourceConfig c) : base(spec)
	{
		try
		{
			Dial.Parse(spec);
		}
		catch (ProtocolException e)
		{
			throw new ArgumentException(e.Message);
		}
		aname = c.Aname;
		// Say at once what is wrong with the server or the path, but serve
		// anyway: the server may be on its way up.
		if (Open(ref rd, true, out string why) is null)
			c.Warn($"{why}; trying again at each request");
	}

	public override bool Inline => true;

	public override List<Msg> Serve(Want w)
	{
		var f = Open(ref rd, true, out string why);
		if (f is null)
			return [Fail(w.Map, w.Off, w.Need, why)];
		var b = new byte[w.End - w.Off];
		int n;
		try
		{
			n = f.Read(w.Off, b);
		}
		catch (NinePException e)
		{
			return [Fail(w.Map, w.Off, w.Need, e.Message)];
		}
		// Read stops only at the end of the file; the rest of its last page
		// reads as zeros, and the pages after it cannot be supplied.
		long got = Math.Min(RoundUp(n), b.Length), eof = w.Off + got;
		if (got == 0)
			return [Error(w, w.Off, w.Need, $"offset 0x{w.Off:x} is past the end of the file")];
		var m = Data(w, w.Off, got == b.Length ? b : b[..(int)got]);
		if (eof >= w.Need)
			return [m];
		return [m, Error(w, eof, w.Need, $"offset 0x{eof:x} is past the end of the file")];
	}

	public override Msg Write(Msg w)
	{
		var f = Open(ref wr, false, out string why);
		if (f is null)
			return FailWrite(w, why);
		try
		{
			f.Write(w.Off, w.Payload);
		}
		catch (NinePException e)
		{
			return FailWrite(w, e.Message);
		}
		return Written(w);
	}

	/// Tfsync on the file written through, if any.
	public override string? Sync()
	{
		RemoteFile? f;
		lock (l)
			f = wr;
		try
		{
			f?.Sync();
			return null;
		}
		catch (NinePException e)
		{
			return e.Message;
		}
	}

	/// The file, opened on first use; null and why when that fails.
	/// RemoteFile's messages name the server, so they are used as they are.
	RemoteFile? Open(ref RemoteFile? f, bool readOnly, out string why)
	{
		why = "";
		lock (l)
		{
			if (f is not null)
				return f;
			try
			{
				f = RemoteFile.Open(Name, aname, new NinePOptions { ReadOnly = readOnly });
			}
			catch (NinePException e)
			{
				why = e.Message;
			}
			return f;
		}
	}
}
