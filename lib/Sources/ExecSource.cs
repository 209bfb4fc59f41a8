using System.Diagnostics;
using Pager.Protocol;

namespace Pager.Sources;

/// exec:COMMAND: sh -c COMMAND per request, with the map, offset and
/// length as $1 $2 $3 and as PAGER_MAP, PAGER_OFF, PAGER_LEN. Its
/// standard output is the data; a non-zero exit is an error reply
/// carrying the last line of its standard error.
public sealed class ExecSource(string name, string cmd, SourceConfig c) : Source(name)
{
	public override bool Inline => true;

	public override List<Msg> Serve(Want w)
	{
		long len = w.End - w.Off;
		using var p = Start(w.Map, w.Off, len);
		// Standard input is pagefill's request stream: the command must not eat it.
		p.StandardInput.Close();
		var err = p.StandardError.ReadToEndAsync();
		var b = new byte[len];
		int n = ReadFull(p.StandardOutput.BaseStream, b);
		long extra = Drain(p.StandardOutput.BaseStream);
		p.WaitForExit();
		var lines = err.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries);
		foreach (var s in lines)
			c.Warn($"{Name}: {s}");
		if (p.ExitCode != 0)
			return [Error(w, w.Off, w.Need, lines.Length > 0 ? lines[^1] : $"exit status {p.ExitCode}")];
		if (n < len)
			c.Warn($"{Name}: short output: {n} of {len} bytes for {w.Map} 0x{w.Off:x}; padded with zeros");
		if (extra > 0)
			c.Warn($"{Name}: {extra} bytes more than the {len} asked for {w.Map} 0x{w.Off:x}; dropped");
		return [Data(w, w.Off, b)];
	}

	Process Start(string map, long off, long len)
	{
		var psi = new ProcessStartInfo("/bin/sh")
		{
			RedirectStandardInput = true,
			RedirectStandardOutput = true,
			RedirectStandardError = true,
			UseShellExecute = false,
		};
		foreach (var a in new[] { "-c", cmd, "sh", map, off.ToString(), len.ToString() })
			psi.ArgumentList.Add(a);
		psi.Environment["PAGER_MAP"] = map;
		psi.Environment["PAGER_OFF"] = off.ToString();
		psi.Environment["PAGER_LEN"] = len.ToString();
		return Process.Start(psi) ?? throw new InvalidOperationException("cannot start /bin/sh");
	}

	static int ReadFull(Stream s, byte[] b)
	{
		int n = 0, r;
		while (n < b.Length && (r = s.Read(b, n, b.Length - n)) > 0)
			n += r;
		return n;
	}

	/// Reads what is left so the command is not stuck writing; returns its size.
	static long Drain(Stream s)
	{
		var junk = new byte[8192];
		long n = 0;
		int r;
		while ((r = s.Read(junk)) > 0)
			n += r;
		return n;
	}
}
