using System.Text.RegularExpressions;
using Pager.Kernel;
using Pager.Protocol;
using Pager.Sources;
using Tmds.Linux;
using Xunit;
using static Pager.Tests.Streams;

namespace Pager.Tests;

public class PagefillTests : Scratch
{
	static Cmd.Result Fill(string requests, params string[] args) => Cmd.Run("pagefill", args, B(requests));

	static string Lines(Cmd.Result r) => string.Join("\n", Clean(r.Out).Select(m => Format.Header(m)));

	[Fact]
	public void Zero()
	{
		var r = Fill("read m 0 8192 tid=3\nread m 0x5000 4096\n", "zero");
		Assert.Equal(0, r.Code);
		Assert.Equal("", r.Err);
		Assert.Equal("zero m 0 8192\nzero m 20480 4096\n", r.Text);
	}

	[Fact]
	public void PatternFramesReassemble()
	{
		var r = Fill("read m 0x10000 65536\n", "pattern");
		Assert.Equal(0, r.Code);
		var b = Reassemble(r.Out, 0x10000, 65536);
		Assert.Equal(-1, Pattern.Check(0x10000, b));
	}

	[Fact]
	public void UnalignedRequestsAreWidenedToPages()
	{
		var r = Fill("read m 4100 10\nread m 8000 200\n", "zero");
		Assert.Equal("zero m 4096 4096\nzero m 4096 8192\n", r.Text);
	}

	[Fact]
	public void ReadAheadIsClippedToTheMapSize()
	{
		var r = Fill("read m 0 4096 size=10000\nread m 0 4096\nread m 0 131072 size=10000\nread m 8192 4096 size=0x2000\n",
			"-a", "64k", "zero");
		// size=10000 ends the map in its third page; a request is never cut
		// below what it asks, even past the map's end.
		Assert.Equal("zero m 0 12288\nzero m 0 65536\nzero m 0 131072\nzero m 8192 4096\n", r.Text);
		var p = Fill("read m 4096 4096 size=16384\n", "-a", "64k", "pattern");
		Assert.Equal(-1, Pattern.Check(4096, Reassemble(p.Out, 4096, 12288)));
	}

	[Fact]
	public void FileReplies()
	{
		var dir = TempDir();
		var f = Path.Combine(dir, "img");
		File.WriteAllBytes(f, new byte[3 * 4096 + 100]);
		var r = Fill("read m 4096 4096\nread m 12288 8192\nread m 0 4096 size=65536\n", "-a", "32k", $"file:{f}");
		Assert.Equal(0, r.Code);
		// The file ends in its fourth page: read-ahead stops there, and the page after it is an error.
		Assert.Equal(
			$"file m 4096 12288 {f} 4096\n" +
			$"file m 12288 4096 {f} 12288\n" +
			$"error m 16384 4096 file:{f}: offset 0x4000 is past the end of the file\n" +
			$"file m 0 16384 {f} 0", Lines(r));
		// A relative path goes out absolute, since pagerd reads it from elsewhere; -o shifts the file.
		var o = Cmd.Sh($"cd {dir} && echo read m 4096 4096 | pagefill -o 8k file:img");
		Assert.Equal($"file m 4096 4096 {f} 12288\n", o.Text);
	}

	[Fact]
	public void FileInline()
	{
		var dir = TempDir();
		var f = Path.Combine(dir, "img");
		var content = new byte[2 * 4096 + 100];
		Random.Shared.NextBytes(content);
		File.WriteAllBytes(f, content);
		var r = Fill("read m 0 12288\n", "-i", $"file:{f}");
		Assert.Equal(0, r.Code);
		var b = Reassemble(r.Out, 0, 12288);
		// The tail of the last page reads as zeros, as with mmap.
		Assert.Equal(content, b[..content.Length]);
		Assert.All(b[content.Length..], x => Assert.Equal(0, x));
		var o = Fill("read m 4096 4096\n", "-i", "-o", "100", $"file:{f}");
		Assert.Equal(content[4196..8292], Reassemble(o.Out, 4096, 4096));
	}

	[Fact]
	public void FileMissingIsAnErrorAndServingGoesOn()
	{
		var dir = TempDir();
		var f = Path.Combine(dir, "later");
		using var p = Cmd.Start("pagefill", [$"file:{f}"]);
		p.StandardInput.Write("read m 0 4096\n");
		p.StandardInput.Flush();
		Assert.Equal($"error m 0 4096 file:{f}: no such file or directory", Line(p.StandardOutput));
		// The file is opened again for the next request.
		File.WriteAllBytes(f, new byte[4096]);
		p.StandardInput.Write("read m 0 4096\n");
		p.StandardInput.Close();
		Assert.Equal($"file m 0 4096 {f} 0", Line(p.StandardOutput));
		Assert.Equal(0, Exit(p));
	}

	[Fact]
	public void FileShortReadInlineIsAnError()
	{
		// A character device has no known end, so reading nothing is short.
		var r = Fill("read m 0 4096\n", "-i", "file:/dev/null");
		Assert.Equal("error m 0 4096 file:/dev/null: short read: 0 of 4096 bytes at file offset 0x0\n", r.Text);
		var d = Fill("read m 0 4096\n", "-i", "file:/");
		Assert.Equal("error m 0 4096 file:/: read: is a directory\n", d.Text);
	}

	[Fact]
	public void ExecArgumentsAndEnvironment()
	{
		var r = Fill("read m 8192 4096\n", "exec:printf '%s %s %s %s %s %s' $1 $2 $3 $PAGER_MAP $PAGER_OFF $PAGER_LEN");
		Assert.Equal(0, r.Code);
		var b = Reassemble(r.Out, 8192, 4096);
		var text = "m 8192 4096 m 8192 4096";
		Assert.Equal(text, System.Text.Encoding.ASCII.GetString(b[..text.Length]));
		// Short output is padded with zeros, and pagefill says so.
		Assert.All(b[text.Length..], x => Assert.Equal(0, x));
		Assert.Contains("pagefill: exec:", r.Err);
		Assert.Contains($"short output: {text.Length} of 4096 bytes for m 0x2000; padded with zeros", r.Err);
	}

	[Fact]
	public void ExecOutputIsTheData()
	{
		var r = Fill("read m 0 8192\n", "-a", "16k", "exec:head -c $3 /dev/zero | tr '\\0' x");
		Assert.Equal("", r.Err);
		Assert.All(Reassemble(r.Out, 0, 16384), x => Assert.Equal((byte)'x', x));
		// The command's standard input is not the request stream.
		var cat = Fill("read m 0 4096\nread m 4096 4096\n", "exec:cat; printf %$3s x");
		Assert.Equal(8192, Clean(cat.Out).Sum(m => m.Len));
	}

	[Fact]
	public void ExecFailureIsAnErrorWithItsLastLine()
	{
		var r = Fill("read m 0 4096\nread m 4096 4096\n", "exec:echo first >&2; echo last words >&2; exit 3");
		Assert.Equal(0, r.Code);
		var cmd = "exec:echo first >&2; echo last words >&2; exit 3";
		Assert.Equal($"error m 0 4096 {cmd}: last words\nerror m 4096 4096 {cmd}: last words\n", r.Text);
		var quiet = Fill("read m 0 4096\n", "exec:exit 7");
		Assert.Equal("error m 0 4096 exec:exit 7: exit status 7\n", quiet.Text);
	}

	[Fact]
	public void RequestsInFlightRunTogether()
	{
		// Each command waits until all four have started: only possible when they run at once.
		var dir = TempDir();
		var cmd = $"exec:touch {dir}/$2; i=0; while [ $(ls {dir} | wc -l) -lt 4 ]; do " +
			"i=$((i+1)); [ $i -gt 200 ] && { echo alone >&2; exit 1; }; sleep 0.05; done; printf %$3s $2";
		var r = Fill("read m 0 4096\nread m 4096 4096\nread m 8192 4096\nread m 12288 4096\n", "-n", "4", cmd);
		Assert.Equal(0, r.Code);
		var msgs = Clean(r.Out);
		Assert.All(msgs, m => Assert.Equal(Verb.Data, m.Verb));
		Assert.Equal([0L, 4096, 8192, 12288], msgs.GroupBy(m => m.Off / 4096 * 4096).Select(g => g.Key).Order());
	}

	[Fact]
	public void OtherVerbsAreIgnored()
	{
		var r = Fill("ok m 0 4096\ndata m 0 3\nabcpunt m 0 4096\nevict m 0 4096\nread m 0 4096\n", "-v", "zero");
		Assert.Equal("zero m 0 4096\n", r.Text);
		Assert.Contains("pagefill: <- ok m 0 4096\npagefill: ignored: ok is not a request\n", r.Err);
		Assert.Contains("pagefill: ignored: data is not a request\n", r.Err);
		Assert.Contains("pagefill: ignored: punt is not a request\n", r.Err);
		Assert.Contains("pagefill: ignored: evict is not a request\n", r.Err);
		Assert.Contains("pagefill: <- read m 0 4096\npagefill: -> zero m 0 4096\n", r.Err);
	}

	[Fact]
	public void MalformedRequestsAreReportedAndSkipped()
	{
		var r = Fill("read m\nread m 0 4096\n", "zero");
		Assert.Equal(0, r.Code);
		Assert.Equal("zero m 0 4096\n", r.Text);
		Assert.StartsWith("pagefill: read needs MAP OFF LEN", r.Err);
	}

	[Fact]
	public void PipelineFromATrace()
	{
		var dir = TempDir();
		var trace = Path.Combine(dir, "trace");
		var rnd = new Random(7);
		var offs = Enumerable.Range(0, 200).Select(_ => (long)rnd.Next(0, 256) * 4096).ToList();
		File.WriteAllLines(trace, offs.Select((o, i) => $"read m {o} 4096 tid={i} size=1048576"));
		var r = Cmd.Sh($"faultcat <{trace} | pagefill -a 16k pattern");
		Assert.Equal(0, r.Code);
		Assert.Equal("", r.Err);
		var (msgs, errs) = Decode(r.Out);
		Assert.Empty(errs);
		Assert.All(msgs, x => Assert.True(x.Size <= Format.PipeBuf));
		// Every page asked for came back, with the pattern's bytes for its place.
		var got = new HashSet<long>();
		foreach (var (m, _) in msgs)
		{
			Assert.Equal(-1, Pattern.Check(m.Off, m.Payload));
			for (long p = m.Off / 4096; p * 4096 < m.End; p++)
				got.Add(p * 4096);
		}
		Assert.Subset(got, offs.ToHashSet());
		Assert.DoesNotContain(msgs, x => x.M.End > 1048576);
	}

	[Fact]
	public void ServesTheMapsFifos()
	{
		var root = PagerDir("img");
		using var p = Cmd.Start("pagefill", ["-m", "img", "pattern"], new Dictionary<string, string> { ["PAGERDIR"] = root });
		p.StandardInput.Close();
		int fault = OpenFifo(Dir.Fault(root, "img"), LibC.O_WRONLY);
		int fill = OpenFifo(Dir.Fill(root, "img"), LibC.O_RDONLY);
		Posix.WriteAll(fault, B("read img 0 8192\nread img 65536 4096\n"), "fault");
		Posix.Close(fault);
		File.Delete(Dir.Fault(root, "img")); // as pagerd does when it ends, so pagefill ends too
		var out_ = ReadAll(fill);
		Posix.Close(fill);
		Assert.Equal(0, Exit(p));
		var msgs = Decode(out_).Msgs;
		Assert.Equal(-1, Pattern.Check(0, Reassemble(Frames(msgs, 0, 8192), 0, 8192)));
		Assert.Equal(-1, Pattern.Check(65536, Reassemble(Frames(msgs, 65536, 4096), 65536, 4096)));
	}

	static byte[] Frames(List<(Msg M, long Size)> msgs, long off, long len) =>
		msgs.Where(x => x.M.Off >= off && x.M.Off < off + len).SelectMany(x => Format.Bytes(x.M)).ToArray();

	[Fact]
	public void ReadsAFifoOnStandardInput()
	{
		var dir = TempDir();
		var fifo = Path.Combine(dir, "fault");
		Posix.Mkfifo(fifo, 0x1b6);
		var result = Task.Run(() => Cmd.Sh($"faultcat <{fifo} | pagefill zero"));
		int fd = OpenFifo(fifo, LibC.O_WRONLY);
		Posix.WriteAll(fd, B("read m 0 4096\n"), "fifo");
		Posix.Close(fd);
		var r = Collected(result.ContinueWith(t => t.Result.Out));
		Assert.Equal("zero m 0 4096\n", System.Text.Encoding.ASCII.GetString(r));
	}

	[Fact]
	public void InterruptEndsQuietly()
	{
		using var p = Cmd.Start("pagefill", ["zero"]);
		p.StandardInput.Write("read m 0 4096\n");
		p.StandardInput.Flush();
		Assert.Equal("zero m 0 4096", Line(p.StandardOutput));
		Interrupt(p);
		Assert.Equal(0, Exit(p));
		Assert.Equal("", p.StandardError.ReadToEnd());
	}

	[Fact]
	public void ClosedPipeEndsQuietly()
	{
		var dir = TempDir();
		var big = Path.Combine(dir, "big");
		File.WriteAllText(big, string.Concat(Enumerable.Repeat("read m 0 65536\n", 2000)));
		var r = Cmd.Sh($"{{ pagefill pattern <{big}; echo $? >{dir}/rc; }} | head -c 100 >/dev/null");
		Assert.Equal("", r.Err);
		Assert.Equal("0\n", File.ReadAllText(Path.Combine(dir, "rc")));
	}

	[Fact]
	public void BadUsage()
	{
		foreach (var args in new[] { [], new[] { "-x", "zero" }, ["nosuch"], ["-a", "5000", "zero"], ["-i", "zero"],
			["-o", "100", "file:/x"], ["-n", "0", "zero"], ["-m", "../x", "zero"], ["zero", "pattern"],
			["-A", "/srv", "zero"], ["-A", "/srv", "file:/x"], ["9p:tcp!h/x"], ["9p:"], ["-o", "4096", "9p:tcp!h!564/x"] })
		{
			var r = Cmd.Run("pagefill", args, []);
			Assert.Equal(1, r.Code);
			Assert.Matches("^pagefill: [^\n]+\nusage: pagefill [^\n]+\n$", r.Err);
		}
	}

	[Fact]
	public void UsageMatchesTheManual()
	{
		var h = Cmd.Run("pagefill", "-h");
		Assert.Equal(0, h.Code);
		var lines = h.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
		var man = Man("pagefill.1");
		Assert.Equal("usage: " + Synopsis(man), lines[0]);
		foreach (var l in lines[1..].Where(l => l.TrimStart().StartsWith('-')))
		{
			var opt = l.Trim().Split('\t')[0];
			Assert.Matches(new Regex("^ +" + Regex.Escape(opt) + @"(\s|$)", RegexOptions.Multiline), man);
		}
		foreach (var src in new[] { "file:path", "9p:tcp!host!port/path", "zero", "pattern", "exec:command" })
			Assert.Matches(new Regex("^ +" + src + @"(\s|$)", RegexOptions.Multiline), man);
	}


	[Fact]
	public void OfflineExamplesRun()
	{
		var ex = OfflineExamples("pagefill.1");
		Assert.Equal(5, ex.Count);
		foreach (var e in ex)
		{
			var r = Cmd.Sh(e);
			Assert.True(r.Code == 0, $"{e}: exit {r.Code}: {r.Err}");
			Assert.NotEmpty(r.Out);
		}
	}
}
