using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Pager.Kernel;
using Pager.Protocol;
using Tmds.Linux;
using Decoder = Pager.Protocol.Decoder;

namespace Pager.Tests;

/// What the faultcat and pagefill tests share: decoding output with the
/// protocol's own Decoder, temporary directories and FIFOs, waits with
/// timeouts, and the manual pages as rendered.
public static class Streams
{
	public static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

	public static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

	/// The messages in out, each with its size in bytes on the wire, and
	/// the decoder's complaints.
	public static (List<(Msg M, long Size)> Msgs, List<string> Errors) Decode(byte[] out_)
	{
		var dec = new Decoder();
		var msgs = new List<(Msg, long)>();
		var errs = new List<string>();
		long last = 0;
		dec.Feed(out_, m =>
		{
			msgs.Add((m, dec.Pos - last));
			last = dec.Pos;
		}, errs.Add);
		dec.End(errs.Add);
		return (msgs, errs);
	}

	/// The messages of a stream with no complaints from the decoder.
	public static List<Msg> Clean(byte[] out_)
	{
		var (msgs, errs) = Decode(out_);
		Xunit.Assert.Empty(errs);
		return msgs.Select(x => x.M).ToList();
	}

	/// Puts data messages together into off..off+len, checking that they
	/// tile it exactly, in order, each in one PIPE_BUF.
	public static byte[] Reassemble(byte[] out_, long off, long len)
	{
		var (msgs, errs) = Decode(out_);
		Xunit.Assert.Empty(errs);
		var b = new byte[len];
		long at = off;
		foreach (var (m, size) in msgs)
		{
			Xunit.Assert.Equal(Verb.Data, m.Verb);
			Xunit.Assert.True(size <= Format.PipeBuf, $"a frame of {size} bytes");
			Xunit.Assert.Equal(at, m.Off);
			m.Payload!.CopyTo(b, at - off);
			at += m.Len;
		}
		Xunit.Assert.Equal(off + len, at);
		return b;
	}

	/// Opens a FIFO, which waits for the other end, or fails the test.
	public static int OpenFifo(string path, int flags)
	{
		var t = Task.Run(() => Posix.Open(path, flags));
		if (!t.Wait(Wait))
		{
			// Unblock the open before failing, so no thread is left behind.
			int other = Posix.TryOpen(path, LibC.O_RDWR | Posix.O_NONBLOCK);
			Posix.Close(other);
			throw new TimeoutException("open " + path);
		}
		return t.Result;
	}

	/// Reads fd to its end, or fails the test.
	public static byte[] ReadAll(int fd)
	{
		var t = Task.Run(() =>
		{
			var ms = new MemoryStream();
			var buf = new byte[65536];
			int n;
			while ((n = Posix.Read(fd, buf, "fifo")) > 0)
				ms.Write(buf, 0, n);
			return ms.ToArray();
		});
		Xunit.Assert.True(t.Wait(Wait), "reading to end of file timed out");
		return t.Result;
	}

	/// Waits for p to exit; kills it and fails when it does not.
	public static int Exit(Process p)
	{
		if (!p.WaitForExit(Wait))
		{
			p.Kill(true);
			throw new TimeoutException("still running: " + p.StartInfo.FileName);
		}
		p.WaitForExit();
		return p.ExitCode;
	}

	/// Starts copying s to its end, for Collected.
	public static Task<byte[]> Collect(Stream s) => Task.Run(() =>
	{
		var ms = new MemoryStream();
		s.CopyTo(ms);
		return ms.ToArray();
	});

	public static byte[] Collected(Task<byte[]> t)
	{
		Xunit.Assert.True(t.Wait(Wait), "reading to end of file timed out");
		return t.Result;
	}

	public static string Line(StreamReader r)
	{
		var t = r.ReadLineAsync();
		Xunit.Assert.True(t.Wait(Wait), "no line in time");
		return t.Result ?? throw new EndOfStreamException();
	}

	public static void Interrupt(Process p) => LibC.kill(p.Id, 2);

	/// A manual page as man(1) shows it, wide enough for no line to wrap.
	public static string Man(string name)
	{
		var env = new Dictionary<string, string> { ["MANWIDTH"] = "400", ["LC_ALL"] = "C", ["MANPAGER"] = "cat" };
		var r = Cmd.Run("man", ["-l", Path.Combine(Cmd.Repo, "man", name)], null, env);
		Xunit.Assert.Equal(0, r.Code);
		return r.Text;
	}

	/// The SYNOPSIS of a rendered page, in one line.
	public static string Synopsis(string page)
	{
		var m = Regex.Match(page, @"^SYNOPSIS\n(.*?)\n\n", RegexOptions.Singleline | RegexOptions.Multiline);
		return Regex.Replace(m.Groups[1].Value, @"\s+", " ").Trim();
	}

	/// The sections a Plan 9 manual page has, in order.
	public static readonly string[] Sections =
		["NAME", "SYNOPSIS", "DESCRIPTION", "EXAMPLES", "FILES", "SOURCE", "SEE ALSO", "DIAGNOSTICS", "BUGS"];

	/// The example blocks of a page, as the shell (or a compiler) would read them.
	public static List<string> Examples(string page)
	{
		var src = File.ReadAllText(Path.Combine(Cmd.Repo, "man", page));
		var ex = src[src.IndexOf(".SH EXAMPLES")..src.IndexOf(".SH FILES")];
		return [.. Regex.Matches(ex, @"\.EX\n(.*?)\.EE", RegexOptions.Singleline).Select(m => m.Groups[1].Value.Replace(@"\e", @"\"))];
	}

	/// The lines of the EXAMPLES that run without pagerd: those starting with echo or printf.
	public static List<string> OfflineExamples(string name)
	{
		var src = File.ReadAllText(Path.Combine(Cmd.Repo, "man", name));
		var ex = src[src.IndexOf(".SH EXAMPLES")..src.IndexOf(".SH FILES")];
		return ex.Split('\n').Where(l => l.StartsWith("echo ") || l.StartsWith("printf ")).Select(l => l.Replace(@"\e", @"\")).ToList();
	}
}
