using System.Text;
using System.Text.RegularExpressions;
using System.Xml;
using Pager.Protocol;
using Xunit;

namespace Pager.Tests;

/// rc/tracesvg: the picture of a trace is well-formed SVG, its dots add
/// up to the trace's requests, and the README's example makes it again.
public class TraceSvgTests : PagerdTest
{
	static string Script => Path.Combine(Cmd.Repo, "rc", "tracesvg");

	/// faultcat -x of a raw trace, then tracesvg: the SVG, parsed.
	static XmlDocument Picture(byte[] trace, out string xform)
	{
		var x = Cmd.Run("faultcat", ["-x"], trace);
		Assert.True(x.Code == 0, x.Err);
		xform = x.Text;
		var r = Cmd.Run(Script, [], x.Out);
		Assert.True(r.Code == 0, $"tracesvg: exit {r.Code}: {r.Err}");
		Assert.Equal("", r.Err);
		var doc = new XmlDocument();
		doc.LoadXml(r.Text);
		return doc;
	}

	static XmlNamespaceManager Ns(XmlDocument d)
	{
		var ns = new XmlNamespaceManager(d.NameTable);
		ns.AddNamespace("s", "http://www.w3.org/2000/svg");
		return ns;
	}

	/// The requests the dots of a class stand for.
	static long Dots(XmlDocument d, string cls) =>
		d.SelectNodes($"//s:*[@class='{cls}']", Ns(d))!.Cast<XmlElement>().Sum(e => long.Parse(e.GetAttribute("data-n")));

	static string Text(XmlDocument d) =>
		string.Join("\n", d.SelectNodes("//s:text", Ns(d))!.Cast<XmlElement>().Select(e => e.InnerText));

	/// The counts of faultcat -x's lines: verbs, and late comments.
	static (long Reads, long Writes, long Syncs, long Late) Count(string xform)
	{
		var lines = xform.Split('\n', StringSplitOptions.RemoveEmptyEntries);
		long N(string verb) => lines.Count(l => !l.StartsWith('#') && l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1] == verb);
		return (N("read"), N("write"), N("sync"), lines.Count(l => l.StartsWith("# late ")));
	}

	[Fact]
	public void DotsAddUpToTheTrace()
	{
		var s = new MemoryStream();
		void W(string t) => s.Write(Encoding.UTF8.GetBytes(t));
		var rnd = new Random(3);
		long size = 64 << 20;
		for (int i = 0; i < 2000; i++)
		{
			long off = rnd.NextInt64(size / 4096) * 4096;
			W($"read m {off} 4096 tid=7 size={size} t={i * 500}\n");
			if (i % 100 == 0)
				W($"# late m {off} 4096 t={i * 500} wait=20000\n");
			if (i % 50 == 0)
			{
				// A payload that looks like requests must not count as any.
				var payload = Encoding.UTF8.GetBytes("read m 0 4096 t=1\n# late m 0 4096 t=1 wait=1\n").Concat(new byte[4096]).Take(4096).ToArray();
				W($"write m {off} 4096 t={i * 500 + 1}\n");
				s.Write(payload);
			}
			if (i % 500 == 499)
				W($"sync m {i} t={i * 500 + 2}\n");
		}
		var doc = Picture(s.ToArray(), out var xform);
		Assert.Equal((2000L, 40L, 4L, 20L), Count(xform));
		Assert.Equal(2000, Dots(doc, "read"));
		Assert.Equal(40, Dots(doc, "write"));
		Assert.Equal(20, Dots(doc, "late"));
		var text = Text(doc);
		Assert.Contains($"map m, {size} bytes (64m), 999.5ms", text);
		Assert.Contains("2000 reads, 40 writes, 4 syncs, 20 late", text);
		Assert.Equal("svg", doc.DocumentElement!.LocalName);
		Assert.Equal("720", doc.DocumentElement.GetAttribute("width"));
	}

	[Fact]
	public void ManyRequestsAreBinned()
	{
		var s = new StringBuilder();
		var rnd = new Random(4);
		const int n = 200_000;
		for (int i = 0; i < n; i++)
			s.Append($"read big {rnd.NextInt64(1L << 18) * 4096} 4096 size={1L << 30} t={i}\n");
		var doc = Picture(Encoding.UTF8.GetBytes(s.ToString()), out _);
		var dots = doc.SelectNodes("//s:rect[@class='read']", Ns(doc))!.Count;
		// 4-pixel bins over the 628 by 384 pixels of the plot.
		Assert.InRange(dots, 1, 157 * 96);
		Assert.Equal(n, Dots(doc, "read"));
		Assert.Contains($"{n} reads, 0 writes, 0 syncs, 0 late", Text(doc));
	}

	/// A trace from before requests carried t= is drawn against the
	/// requests' numbers.
	[Fact]
	public void UntimedTraceCountsRequests()
	{
		var trace = string.Concat(Enumerable.Range(0, 300).Select(i => $"read old {i * 4096} 4096 size={300 * 4096}\n"));
		var doc = Picture(Encoding.UTF8.GetBytes(trace), out _);
		Assert.Equal(300, Dots(doc, "read"));
		var text = Text(doc);
		Assert.Contains($"map old, {300 * 4096} bytes (1.2m), 300 requests", text);
		Assert.Contains("\nrequest\n", text);
	}

	[Fact]
	public void NoRequestsIsAnError()
	{
		var r = Cmd.Run(Script, [], Encoding.UTF8.GetBytes("# nothing\n"));
		Assert.Equal(1, r.Code);
		Assert.Equal("tracesvg: no read or write requests in the input\n", r.Err);
		Assert.Equal("", r.Text);
		Assert.NotEqual(0, Cmd.Run(Script, ["extra"]).Code);
	}

	/// A real trace: a pager held back until the first request has waited
	/// past the 10 ms that make it late, reads of the whole map, writes
	/// and a sync.
	[Fact]
	public void LiveTrace()
	{
		var src = RandomFile(256 << 10);
		d.Ctl($"new m {256 << 10}");
		var trace = Path.Combine(tmp, "trace");
		var gate = Path.Combine(tmp, "gate");
		using var pager = Cmd.Start("/bin/sh", ["-c", $"faultcat -w {trace} m | {{ until test -e {gate}; do sleep 0.01; done; exec pagefill file:{src}; }} >{d.Fill("m")}"], d.Env);
		try
		{
			WaitPager("m");
			Cmd.Result? r = null;
			var reader = new Thread(() => r = Cmd.Run("mapctl", ["-d", d.Root, "cat", "m"]));
			reader.Start();
			Cmd.WaitFor(() => d.Stat("m", "outstanding") > 0, "a request for the held-back pager");
			var asked = System.Diagnostics.Stopwatch.StartNew();
			Cmd.WaitFor(() => asked.ElapsedMilliseconds > 20, "the request to be late");
			File.WriteAllText(gate, "");
			Assert.True(reader.Join(Cmd.Timeout), "mapctl cat did not end");
			Assert.True(r!.Code == 0, r.Err);
			Assert.Equal(File.ReadAllBytes(src), r.Out);
			Assert.Equal(0, Cmd.Run("mapctl", ["-d", d.Root, "write", "m", "8192"], new byte[3 * 4096]).Code);
			var sync = Cmd.Run("mapctl", ["-d", d.Root, "sync", "m"]);
			Assert.True(sync.Code == 0, sync.Err);
		}
		finally
		{
			pager.Kill(true);
			pager.WaitForExit(Cmd.Timeout);
		}
		var doc = Picture(File.ReadAllBytes(trace), out var xform);
		var (reads, writes, syncs, late) = Count(xform);
		Assert.True(reads > 0 && writes > 0 && syncs == 1 && late > 0, $"reads {reads} writes {writes} syncs {syncs} late {late}");
		Assert.Equal(reads, Dots(doc, "read"));
		Assert.Equal(writes, Dots(doc, "write"));
		Assert.Equal(late, Dots(doc, "late"));
		Assert.Contains($"map m, {256 << 10} bytes (256k), ", Text(doc));
		Assert.Contains($"{reads} reads, {writes} writes, 1 syncs, {late} late", Text(doc));
	}

	/// tracesvg(1)'s EXAMPLES, as one sh script, with a user's PATH and
	/// the rc scripts on it.
	/// rc/demo reads its 8 MiB map through pagefill -a 64k: at least one
	/// request a 64 KiB window, however the copy walks the map (forward,
	/// one request a window; backward, one a page).
	const int MinDemoReads = 8 << 20 >> 16;

	[Fact]
	public void ManualExamplesRun()
	{
		var src = File.ReadAllText(Path.Combine(Cmd.Repo, "man", "tracesvg.1"));
		var ex = src[src.IndexOf(".SH EXAMPLES")..src.IndexOf(".SH FILES")];
		var script = string.Join("\n", Regex.Matches(ex, @"^\.EX\n(.*?)^\.EE\n", RegexOptions.Singleline | RegexOptions.Multiline)
			.Select(m => m.Groups[1].Value.Replace(@"\e", @"\")));
		string[] made = ["/tmp/stride.trace", "/tmp/stride.svg", "/tmp/stride.png", "/tmp/demo.trace", "/tmp/demo.svg"];
		try
		{
			var env = new Dictionary<string, string> { ["PATH"] = $"{Path.Combine(Cmd.Repo, "rc")}:{Cmd.BinDir}:/usr/bin:/bin" };
			var r = Cmd.Run("/bin/sh", ["-e", "-c", script], null, env);
			Assert.True(r.Code == 0, $"exit {r.Code}: {r.Err}");
			Assert.Equal("", r.Err);
			var stride = new XmlDocument();
			stride.Load("/tmp/stride.svg");
			Assert.Equal(4096, Dots(stride, "read"));
			Assert.Equal((720, 480), (Png.Read("/tmp/stride.png").Width, Png.Read("/tmp/stride.png").Height));
			var demo = new XmlDocument();
			demo.Load("/tmp/demo.svg");
			Assert.Equal("1200", demo.DocumentElement!.GetAttribute("width"));
			Assert.True(Dots(demo, "read") >= MinDemoReads, $"{Dots(demo, "read")} reads");
		}
		finally
		{
			foreach (var f in made)
				File.Delete(f);
		}
	}

	/// The README's example, run as it is written (into a scratch
	/// directory), and the committed picture: both render to 720 by 480
	/// pixels with reads and writes on them.
	[Fact]
	public void ExampleIsMadeByTheDocumentedCommand()
	{
		var readme = File.ReadAllText(Path.Combine(Cmd.Repo, "README.md"));
		var m = Regex.Match(readme, @"^    (\./rc/demo -w (\S+))\n    (.*\| \./rc/tracesvg >(\S+))\n", RegexOptions.Multiline);
		Assert.True(m.Success, "the README shows no tracesvg example");
		var (trace, svg) = (m.Groups[2].Value, m.Groups[4].Value);
		Assert.Equal("rc/demo.svg", svg);
		Assert.Contains($"![the access pattern of rc/demo]({svg})", readme);
		var made = Path.Combine(tmp, "demo.svg");
		var script = $"cd {Cmd.Repo} && {m.Groups[1].Value.Replace(trace, tmp + "/trace")} >/dev/null && {m.Groups[3].Value.Replace(trace, tmp + "/trace").Replace(">" + svg, ">" + made)}";
		var r = Cmd.Sh(script);
		Assert.True(r.Code == 0, $"{script}: exit {r.Code}: {r.Err}");
		foreach (var picture in new[] { made, Path.Combine(Cmd.Repo, svg) })
		{
			var doc = new XmlDocument();
			doc.Load(picture);
			Assert.True(Dots(doc, "read") >= MinDemoReads, $"{picture}: {Dots(doc, "read")} reads");
			Assert.True(Dots(doc, "write") >= 8, $"{picture}: {Dots(doc, "write")} writes");
			Assert.Contains("map demo, 8392704 bytes (8.0m), ", Text(doc));
			var png = Path.Combine(tmp, Path.GetFileName(picture) + ".png");
			var c = Cmd.Run("rsvg-convert", [picture, "-o", png]);
			Assert.True(c.Code == 0, $"rsvg-convert {picture}: {c.Err}");
			var p = Png.Read(png);
			Assert.Equal((720, 480), (p.Width, p.Height));
			long ink = 0, blue = 0, green = 0;
			for (int y = 0; y < p.Height; y++)
				for (int x = 0; x < p.Width; x++)
				{
					var (R, G, B) = p[x, y];
					if (R < 240 || G < 240 || B < 240)
						ink++;
					if (B > R + 60 && B > G + 30)
						blue++;
					if (G > R + 40 && G > B + 30)
						green++;
				}
			Assert.True(ink > p.Width * p.Height / 100, $"{picture}: only {ink} pixels not white");
			Assert.True(blue > 500, $"{picture}: {blue} blue pixels");
			Assert.True(green > 20, $"{picture}: {green} green pixels");
		}
	}
}
