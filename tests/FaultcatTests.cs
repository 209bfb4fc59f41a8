using System.Text;
using System.Text.RegularExpressions;
using Pager.Kernel;
using Pager.Protocol;
using Tmds.Linux;
using Xunit;
using static Pager.Tests.Streams;

namespace Pager.Tests;

public class FaultcatTests : Scratch
{
	/// A stream of every kind of message, with binary payloads holding
	/// newlines, NULs and bytes that are not UTF-8, and a comment.
	static byte[] Mixed()
	{
		var s = new MemoryStream();
		void W(string t) => s.Write(B(t));
		W("read m 0 4096 tid=42 size=65536\n");
		W("# a comment\n");
		W("data m 0 6\n");
		s.Write([0, (byte)'\n', 0xff, 0xfe, (byte)'\r', 0x80]);
		W("read m 0x3000 8192 tid=43\n");
		W("file m 12288 8192 '/srv/a b.img' 4096\n");
		W("\n");
		W("zero m 0x5000 4096\n");
		W("error m 0x6000 4096 file:/x: No such file or directory\n");
		W("data m 4096 3\nend");
		W("sync m 7\n");
		return s.ToArray();
	}

	[Fact]
	public void PassThroughIsByteExact()
	{
		var input = Mixed();
		var r = Cmd.Run("faultcat", [], input);
		Assert.Equal("", r.Err);
		Assert.Equal(0, r.Code);
		Assert.Equal(input, r.Out);
	}

	[Fact]
	public void MalformedLinesAreReportedAndLeftOut()
	{
		var good1 = B("read m 0 4096\n");
		var good2 = B("data m 8 2\n\n\n");
		var good3 = B("read m 8192 4096\n");
		var input = good1
			.Concat(B("bogus m 0 4096\n"))
			.Concat(good2)
			.Concat(B("read m zero 4096\n"))
			.Concat(B("read m 0 " + new string('1', 5000) + "\n"))
			.Concat(good3)
			.Concat(B("data m 0 10\nshort")).ToArray();
		var r = Cmd.Run("faultcat", [], input);
		Assert.Equal(good1.Concat(good2).Concat(good3).ToArray(), r.Out);
		var errs = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
		Assert.Equal(4, errs.Length);
		Assert.All(errs, e => Assert.StartsWith("faultcat: ", e));
		Assert.Contains("unknown verb 'bogus'", errs[0]);
		Assert.Contains("payload short", errs[3]);
		Assert.Equal(1, r.Code);
	}

	[Fact]
	public void ReadableForm()
	{
		var r = Cmd.Run("faultcat", ["-x"], Mixed());
		Assert.Equal(0, r.Code);
		var lines = r.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
		// Comments are shown as they are, where they came.
		Assert.Equal("# a comment", lines[1]);
		lines = [.. lines.Where((_, i) => i != 1)];
		Assert.Equal(8, lines.Length);
		string t = @"\d\d:\d\d:\d\d\.\d{6} ";
		Assert.Matches($"^{t}read +m +0x0 +p0 +1p +42 +size=65536$", lines[0]);
		Assert.Matches($"^{t}data +m +0x0 +p0 +6b +-$", lines[1]);
		Assert.Matches($"^{t}read +m +0x3000 +p3 +2p +43$", lines[2]);
		Assert.Matches($"^{t}file +m +0x3000 +p3 +2p +- +'/srv/a b.img' 0x1000$", lines[3]);
		Assert.Matches($"^{t}zero +m +0x5000 +p5 +1p +-$", lines[4]);
		Assert.Matches($"^{t}error +m +0x6000 +p6 +1p +- +file:/x: No such file or directory$", lines[5]);
		Assert.Matches($"^{t}data +m +0x1000 +p1 +3b +-$", lines[6]);
		Assert.Matches($"^{t}sync +m - - - - seq=7$", lines[7]);
		// Unaligned offsets show where in the page they fall.
		var u = Cmd.Run("faultcat", ["-x"], B("data m 4100 3\nabc"));
		Assert.Matches($"^{t}data +m +0x1004 +p1\\+0x4 +3b +-\n$", u.Text);
	}

	[Fact]
	public void FilterByVerb()
	{
		var r = Cmd.Run("faultcat", ["-t", "read,zero"], Mixed());
		Assert.Equal(0, r.Code);
		var msgs = Clean(r.Out);
		Assert.Equal([Verb.Read, Verb.Read, Verb.Zero], msgs.Select(m => m.Verb));
		// Still the exact bytes, hex offsets and all.
		Assert.Contains("read m 0x3000 8192 tid=43\n", r.Text);
		var bad = Cmd.Run("faultcat", ["-t", "read,nosuch"], []);
		Assert.Equal(1, bad.Code);
		Assert.StartsWith("faultcat: unknown verb 'nosuch'\nusage: faultcat ", bad.Err);
	}

	[Fact]
	public void FilterByRange()
	{
		// 0x3000-0x5000 overlaps the read and file of 0x3000..0x5000; the zero at 0x5000 is outside.
		var r = Cmd.Run("faultcat", ["-o", "0x3000-0x5000"], Mixed());
		Assert.Equal(["read m 0x3000 8192 tid=43", "file m 12288 8192 '/srv/a b.img' 4096"],
			Clean(r.Out).Select(m => m.Line));
		var one = Cmd.Run("faultcat", ["-t", "data", "-o", "4098"], Mixed());
		Assert.Equal(["data m 4096 3"], Clean(one.Out).Select(m => m.Line));
		var from = Cmd.Run("faultcat", ["-o", "24k-"], Mixed());
		Assert.Equal([Verb.Error], Clean(from.Out).Select(m => m.Verb));
		var upto = Cmd.Run("faultcat", ["-o", "-4k"], Mixed());
		Assert.Equal([Verb.Read, Verb.Data], Clean(upto.Out).Select(m => m.Verb));
	}

	[Fact]
	public void TeeFileEqualsTheInput()
	{
		var dir = TempDir();
		var trace = Path.Combine(dir, "trace");
		// Filtered, readable and with a malformed line: the trace is still the input.
		var input = Mixed().Concat(B("nonsense\nread m 0 4096\n")).ToArray();
		var r = Cmd.Run("faultcat", ["-x", "-t", "zero", "-w", trace], input);
		Assert.Equal(1, r.Code);
		Assert.Equal(input, File.ReadAllBytes(trace));
		// ...which faultcat reads back as it read the original.
		var back = Cmd.Run("faultcat", ["-r", trace], null);
		Assert.Equal(Cmd.Run("faultcat", [], input).Out, back.Out);
		// A trace of requests, which have no payloads, is awk's too.
		var reqs = B("read m 0 4096 tid=1\nread m 8192 4096 tid=2\nsync m 1\n");
		Cmd.Run("faultcat", ["-w", trace], reqs);
		var awk = Cmd.Run("awk", ["$1 == \"read\" { n++; off += $3 } END { print n, off }", trace], null);
		Assert.Equal("2 8192\n", awk.Text);
	}

	[Fact]
	public void Summary()
	{
		var r = Cmd.Run("faultcat", ["-s"], Mixed().Concat(B("bad\n")).ToArray());
		Assert.Equal(1, r.Code);
		var sum = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
		// Pages 0, 1, 3, 4, 5, 6: the data at 0 and 4096 and the file over 3-4.
		Assert.Equal("faultcat: messages=8 read=2 data=2 file=1 zero=1 error=1 sync=1 " +
			"pages=6 bytes=28681 first=0x0 last=0x1000 malformed=1", sum);
		var some = Cmd.Run("faultcat", ["-s", "-t", "read"], Mixed());
		Assert.EndsWith("faultcat: messages=2 read=2 pages=3 bytes=12288 first=0x0 last=0x3000\n", some.Err);
		var none = Cmd.Run("faultcat", ["-s"], []);
		Assert.Equal("faultcat: messages=0 pages=0 bytes=0\n", none.Err);
	}

	[Fact]
	public void SummaryCountsEachPageOnceInAnyOrder()
	{
		// Requests of one to three pages, in shuffled order, overlapping:
		// more than enough for the page runs to be merged several times.
		var rnd = new Random(7);
		var pages = new HashSet<long>();
		var text = new System.Text.StringBuilder();
		for (int i = 0; i < 20000; i++)
		{
			long p = rnd.Next(30000), n = 1 + rnd.Next(3);
			for (long q = p; q < p + n; q++)
				pages.Add(q);
			text.Append($"read m {p * 4096} {n * 4096}\n");
		}
		var r = Cmd.Run("faultcat", ["-s"], B(text.ToString()));
		Assert.Equal(0, r.Code);
		Assert.Contains($" pages={pages.Count} ", r.Err);
	}

	[Fact]
	public void SummaryOnInterrupt()
	{
		using var p = Cmd.Start("faultcat", ["-s"]);
		p.StandardInput.Write("read m 0 4096\nread m 4096 4096\n");
		p.StandardInput.Flush();
		Assert.Equal("read m 0 4096", Line(p.StandardOutput));
		Assert.Equal("read m 4096 4096", Line(p.StandardOutput));
		Interrupt(p);
		Assert.Equal(0, Exit(p));
		Assert.Equal("faultcat: messages=2 read=2 pages=2 bytes=8192 first=0x0 last=0x1000\n", p.StandardError.ReadToEnd());
	}

	[Fact]
	public void ReadsTheMapsFifo()
	{
		var root = PagerDir("words");
		using var p = Cmd.Start("faultcat", ["words"], new Dictionary<string, string> { ["PAGERDIR"] = root });
		p.StandardInput.Close();
		int fd = OpenFifo(Dir.Fault(root, "words"), LibC.O_WRONLY);
		var input = Mixed();
		Posix.WriteAll(fd, input, "fault");
		Posix.Close(fd);
		File.Delete(Dir.Fault(root, "words")); // as pagerd does when it ends, so faultcat ends too
		var output = Collect(p.StandardOutput.BaseStream);
		Assert.Equal(0, Exit(p));
		Assert.Equal(input, Collected(output));
	}

	[Fact]
	public void ClosedPipeEndsQuietly()
	{
		var dir = TempDir();
		var big = Path.Combine(dir, "big");
		File.WriteAllText(big, string.Concat(Enumerable.Repeat("read m 0 4096\n", 200000)));
		var r = Cmd.Sh($"{{ faultcat <{big}; echo $? >{dir}/rc; }} | head -c 100 >/dev/null");
		Assert.Equal("", r.Err);
		Assert.Equal("0\n", File.ReadAllText(Path.Combine(dir, "rc")));
	}

	[Fact]
	public void MissingTraceIsOneLine()
	{
		var r = Cmd.Run("faultcat", ["-r", "/nonexistent/trace"], []);
		Assert.Equal(1, r.Code);
		Assert.Equal("faultcat: open /nonexistent/trace: No such file or directory\n", r.Err);
	}

	[Fact]
	public void BadUsage()
	{
		foreach (var args in new[] { new[] { "-q" }, ["a", "b"], ["-o", "5-2"], ["-o"], ["-r", "t", "m"] })
		{
			var r = Cmd.Run("faultcat", args, []);
			Assert.Equal(1, r.Code);
			Assert.Matches("^faultcat: [^\n]+\nusage: faultcat [^\n]+\n$", r.Err);
		}
	}

	[Fact]
	public void UsageMatchesTheManual()
	{
		var h = Cmd.Run("faultcat", "-h");
		Assert.Equal(0, h.Code);
		var lines = h.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
		var man = Man("faultcat.1");
		Assert.Equal("usage: " + Synopsis(man), lines[0]);
		foreach (var l in lines[1..])
		{
			var opt = l.Trim().Split('\t')[0];
			Assert.Matches(new Regex("^ +" + Regex.Escape(opt) + @"(\s|$)", RegexOptions.Multiline), man);
		}
	}


	[Fact]
	public void OfflineExamplesRun()
	{
		var ex = OfflineExamples("faultcat.1");
		Assert.NotEmpty(ex);
		foreach (var e in ex)
		{
			var r = Cmd.Sh(e);
			Assert.True(r.Code == 0, $"{e}: exit {r.Code}: {r.Err}");
			Assert.NotEmpty(r.Out);
		}
	}
}
