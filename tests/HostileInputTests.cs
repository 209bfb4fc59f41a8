using Pager.Client;
using Pager.Kernel;
using Pager.Protocol;
using Xunit;

namespace Pager.Tests;

/// Control lines meant to break pagerd, from the socket and the ctl
/// FIFOs: each is refused (or done), and pagerd serves byte-exact after.
public sealed class HostileInputTests : PagerdTest
{
	/// Lines that once stopped pagerd, or passed when they should not.
	/// A line the grammar refuses is quoted back with the verb's usage;
	/// one its handler refuses, by the value it refused.
	[Theory]
	[InlineData("new x 9223372036854775807", "larger than a map may be")]
	[InlineData("new x 999999t", "larger than a map may be")]
	[InlineData("new x 9999999t", "too large")]
	[InlineData("new x 8388607t", "larger than a map may be")]
	[InlineData("new x 0x7fffffffffffffff", "larger than a map may be")]
	[InlineData("new m4 64k readahead=0x7ffffffffffff000 source=zero", "at most 1g")]
	[InlineData("new m5 64k offset=0x7fffffffffffffff", "past the largest file offset")]
	[InlineData("uffd m base=1 base=2", "given twice")]
	[InlineData("uffd m base=0 base=0", "given twice")]
	[InlineData("uffd m", "no base= field")]
	[InlineData("uffd m base=0x1000", "no descriptor came")]
	[InlineData("stat m junk", "extra argument 'junk' in 'stat m junk' (usage: stat NAME)")]
	[InlineData("rm m forc", "extra argument 'forc' in 'rm m forc' (usage: rm NAME [force])")]
	[InlineData("prefetch m 0 4096 8192", "extra argument '8192'")]
	[InlineData("attach m mode=xx", "bad mode 'xx'")]
	[InlineData("attach m base=1", "unknown field 'base'")]
	[InlineData("ls x", "extra argument 'x'")]
	[InlineData("set m", "missing key=value")]
	[InlineData("new", "missing NAME")]
	[InlineData("'", "unbalanced quote")]
	[InlineData("bogus m", "unknown control message 'bogus m'")]
	public void RefusedNamingTheLine(string line, string why)
	{
		var src = Served();
		d.Ctl("new m 64k");
		var e = Assert.Throws<PagerException>(() => d.Ctl(line));
		Assert.Contains(why, e.Message);
		StillServes(src);
	}

	/// A few thousand lines made of the verbs and of words that are
	/// numbers too large, signs, quotes, bad fields and good ones.
	[Fact]
	public void GeneratedLinesLeavePagerdServing()
	{
		var src = Served();
		string[] verbs = [.. Cmdtab.All.Select(c => c.Name), "bogus", "", "NEW", "new\tx"];
		string[] words =
		[
			"m", "x", "y", "nosuch", "..", "ctl", "a/b", "", "'", "''", "'a b'", "=", "a=", "=b", "==",
			"0", "1", "-1", "4096", "4095", "64k", "1m", "5t", "999999t", "0x", "0x1000", "0x7fffffffffffffff",
			"9223372036854775807", "9223372036854775808", "18446744073709551616", "1e9", "+1", "k",
			"force", "forc", "mode=ro", "mode=rw", "mode=xx", "base=0", "base=1", "base=0x1000", "base=-1",
			"readahead=64k", "readahead=1g", "readahead=2g", "readahead=0x7ffffffffffff000", "pagesize=3",
			"pagesize=8k", "pagesize=2g", "source=zero", "source=none", "source=file:/nonexistent",
			"source=file:/dev/null", "offset=0x7fffffffffffffff", "offset=1", "timeout=1ms",
			"timeout=99999999999999h", "policy=zero", "policy=maybe", "maxresident=64k", "maxresident=1",
			"dirtylimit=4k", "writebehind=1ms", "junk=1", "\u00e9", "x\u0001y",
		];
		var rnd = new Random(8);
		using var c = new Control(d.Root);
		int answered = 0;
		for (int i = 0; i < 3000; i++)
		{
			var line = string.Join(' ', Enumerable.Range(0, rnd.Next(5)).Select(_ => words[rnd.Next(words.Length)]).Prepend(verbs[rnd.Next(verbs.Length)]));
			if (line.Trim().Length == 0 || line.StartsWith("sync"))
				continue; // an empty line has no answer; sync of a new map may wait for a pager
			try
			{
				c.Call(line);
			}
			catch (PagerException e) when (!e.Message.Contains("closed the connection") && !e.Message.Contains("did not answer"))
			{
			}
			answered++;
			if (i % 500 == 0)
				File.AppendAllText(Path.Combine(d.Root, "ctl"), line + "\n");
		}
		Assert.True(answered > 2000, $"only {answered} lines answered");
		Assert.False(d.Proc.HasExited, "pagerd exited: " + d.Log);
		StillServes(src);
		Assert.DoesNotContain("internal error", d.Log);
	}

	/// The same lines on a map's own ctl FIFO: recorded as errors of the map.
	[Fact]
	public void MapCtlFifoLinesAreRecorded()
	{
		var src = Served();
		d.Ctl("new m 64k");
		var ctl = Dir.MapCtl(d.Root, "m");
		File.AppendAllText(ctl, "stat junk\nrm forc\nset readahead=2g\nset a b\nprefetch 0x7fffffffffffffff 1\n");
		Cmd.WaitFor(() => d.Ctl("err m").Count(e => e.Contains("ctl:")) == 5, "the five refusals in the map's errors");
		var errs = string.Join('\n', d.Ctl("err m"));
		Assert.Contains("extra argument 'junk'", errs);
		Assert.Contains("extra argument 'forc'", errs);
		Assert.Contains("at most 1g", errs);
		Assert.Contains("bad option 'a'", errs);
		Assert.Contains("past the end of map m", errs);
		StillServes(src);
	}

	/// A uffd takes the mode of the attach before it: one whose mode=
	/// contradicts it, or one for a map not attached on the connection,
	/// is refused.
	[Fact]
	public void UffdTakesTheAttachsMode()
	{
		var src = Served();
		d.Ctl("new m 64k");
		using var c = new Control(d.Root);
		int fd = Posix.MemfdCreate("not a userfaultfd");
		try
		{
			var e = Assert.Throws<PagerException>(() => c.Call("uffd m base=0x1000 mode=ro", fd));
			Assert.Contains("uffd m: the map is not attached on this connection", e.Message);
			c.Call("attach m mode=ro", -1, out int memfd);
			Posix.Close(memfd);
			e = Assert.Throws<PagerException>(() => c.Call("uffd m base=0x1000 mode=rw", fd));
			Assert.Contains("uffd m: mode=rw contradicts the attach, which gave mode=ro", e.Message);
			c.Call("detach m");
			e = Assert.Throws<PagerException>(() => c.Call("uffd m base=0x1000", fd));
			Assert.Contains("not attached on this connection", e.Message);
		}
		finally
		{
			Posix.Close(fd);
		}
		StillServes(src);
	}

	/// A map of random bytes from a file, served by pagerd's own source,
	/// named so that no generated line names it.
	string Served()
	{
		var src = RandomFile(1 << 20);
		d.Ctl($"new served 1m source=file:{src}");
		return src;
	}

	void StillServes(string src)
	{
		Assert.False(d.Proc.HasExited, "pagerd exited: " + d.Log);
		d.Ctl("evict served");
		using var m = d.Attach("served", readOnly: true);
		var b = new byte[m.Size];
		m.Read(0, b);
		Assert.Equal(File.ReadAllBytes(src), b);
	}
}
