using System.Text.RegularExpressions;
using Xunit;

namespace Pager.Tests;

/// The manual pages: Plan 9's sections, and examples that run.
public sealed class ManTests
{
	public static TheoryData<string> Pages => [.. Directory.GetFiles(Path.Combine(Cmd.Repo, "man")).Select(f => Path.GetFileName(f))];

	/// Plan 9's sections, exactly and in order; no warning from groff; and
	/// a way to the protocol and the daemon from every page.
	[Theory]
	[MemberData(nameof(Pages))]
	public void IsPlan9Form(string page)
	{
		var man = Streams.Man(page);
		var heads = Regex.Matches(man, @"^([A-Z][A-Z ]+)$", RegexOptions.Multiline).Select(m => m.Groups[1].Value);
		Assert.Equal(Streams.Sections, heads);
		foreach (var other in new[] { "pager(7)", "pagerd(8)" })
			if (!page.StartsWith(other[..other.IndexOf('(')] + "."))
				Assert.Contains(other, man);
		var warn = Cmd.Run("groff", ["-man", "-ww", "-z", Path.Combine(Cmd.Repo, "man", page)], null);
		Assert.Equal("", warn.Err);
	}

	/// Every path a page's SOURCE names is in the tree, and every file
	/// named there (Map.cs, awkpager) is in one of the folders named before it.
	[Theory]
	[MemberData(nameof(Pages))]
	public void SourceNamesWhatExists(string page)
	{
		var text = File.ReadAllText(Path.Combine(Cmd.Repo, "man", page));
		var source = text[text.IndexOf(".SH SOURCE")..text.IndexOf(".SH SEE ALSO")];
		var dirs = new List<string>();
		foreach (Match m in Regex.Matches(source, @"^\.B[R]? ([\w./]+)", RegexOptions.Multiline))
		{
			var name = m.Groups[1].Value.TrimEnd(',', '.');
			if (name.Contains('/') || Directory.Exists(Path.Combine(Cmd.Repo, name)))
			{
				Assert.True(Path.Exists(Path.Combine(Cmd.Repo, name)), $"{page}: SOURCE names {name}, which is not in the tree");
				dirs.Add(name);
			}
			else
				Assert.True(dirs.Any(d => File.Exists(Path.Combine(Cmd.Repo, d, name))), $"{page}: SOURCE names {name}, which is in none of {string.Join(", ", dirs)}");
		}
		Assert.NotEmpty(dirs);
	}

	/// pagerd(8) gives every control verb of pagerd's own table, with its
	/// arguments as the table writes them (in lower case, as the page does).
	[Fact]
	public void PagerdNamesEveryControlVerb()
	{
		var man = Streams.Man("pagerd.8");
		var ctl = man[man.IndexOf("   Control messages")..man.IndexOf("   Attaching")];
		var named = Regex.Matches(ctl, @"^       ([a-z]+)\b", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToHashSet();
		Assert.Equal(Protocol.Cmdtab.All.Select(c => c.Name).ToHashSet(), named.Intersect(Protocol.Cmdtab.All.Select(c => c.Name)).ToHashSet());
		foreach (var c in Protocol.Cmdtab.All)
		{
			var line = Regex.Match(ctl, $@"^       {c.Name}\b(.*)$", RegexOptions.Multiline).Groups[1].Value;
			foreach (var word in c.Required)
				Assert.Contains(word.ToLowerInvariant(), line);
		}
	}

	/// A user's PATH: the commands, then Debian's tools (awk is mawk, cmp
	/// takes -), not Plan 9's, which the tests' PATH prefers.
	static Dictionary<string, string> UserEnv(Dictionary<string, string> env) =>
		new(env) { ["PATH"] = $"{Cmd.BinDir}:/usr/bin:/bin" };

	[Fact]
	public void PagerdExamplesRun()
	{
		var root = $"/tmp/pager-{Tmds.Linux.LibC.getuid()}";
		Assert.False(Directory.Exists(root), $"{root} is in use; the example needs it");
		var script = Path.GetTempFileName();
		var output = script + ".out";
		// The example leaves a pager in the background: its output goes to a
		// file, not to a pipe that would stay open.
		File.WriteAllText(script, "set -e\n" + string.Join("\n", Streams.Examples("pagerd.8")));
		try
		{
			var r = Cmd.Sh($"sh {script} >{output} 2>&1", UserEnv(new() { ["PAGERDIR"] = "" }));
			var text = File.ReadAllText(output);
			Assert.True(r.Code == 0, text);
			Assert.Contains("name motd", text);
			Assert.Contains(File.ReadAllText("/etc/motd"), text);
			Assert.Contains("read  motd2 0x0", text);
			Assert.Contains("dirty 1", text);
			Assert.Contains("changed\n", text);
			// Written after the restart's example killed the first pagerd.
			Assert.StartsWith("again\n", File.ReadAllText("/tmp/motd.copy"));
			Assert.Equal(2, text.Split("dirty 1").Length - 1);
			Assert.EndsWith("on a map\n", text);
		}
		finally
		{
			Cmd.Sh($"pkill -TERM -f 'pagerd -f -d {root}'");
			Cmd.WaitFor(() => !Directory.Exists(root), "the example's pagerd to exit");
			File.Delete(script);
			File.Delete(output);
			File.Delete("/tmp/motd.copy");
			File.Delete("/tmp/db.img");
		}
	}

	[Fact]
	public void AwkPagerExampleServesAMap()
	{
		using var d = new Pagerd();
		var img = "/tmp/words.img";
		var bytes = new byte[20000];
		new Random(7).NextBytes(bytes);
		File.WriteAllBytes(img, bytes);
		d.Ctl("new words 20000");
		var awk = Streams.Examples("pager.7").Single(e => e.Contains("awk"));
		using var pager = Cmd.Start("/bin/sh", ["-c", awk], UserEnv(d.Env));
		try
		{
			var r = Cmd.Run("mapctl", ["-d", d.Root, "cat", "words"]);
			Assert.Equal(0, r.Code);
			Assert.Equal(bytes, r.Out);
		}
		finally
		{
			pager.Kill(true);
			File.Delete(img);
		}
	}

	[Fact]
	public void ProtocolOfflineExampleRuns()
	{
		var ex = Streams.Examples("pager.7").Single(e => e.StartsWith("echo"));
		var r = Cmd.Sh(ex);
		Assert.True(r.Code == 0, r.Err);
		Assert.Contains("data  m", r.Text);
	}
}
