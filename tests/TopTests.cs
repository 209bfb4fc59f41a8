using Pager.Protocol;
using Xunit;

namespace Pager.Tests;

/// mapctl top against a real pagerd: its lines say what stat says, its
/// header comes back, and it ends quietly on -n, an interrupt and a
/// closed pipe.
public class TopTests : PagerdTest
{
	static string[] Cols(string line) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries);

	[Fact]
	public void LinesMatchStatus()
	{
		var src = RandomFile(1 << 20);
		d.Ctl($"new whole {1 << 20} source=file:{src}");
		d.Ctl("new idle 64k maxresident=64k");
		var copy = RandomFile(64 << 10, 2);
		d.Ctl($"new written {64 << 10} source=file:{copy}");
		Assert.Equal(0, Mapctl("cat", "whole").Code);
		Assert.Equal(0, Cmd.Run("mapctl", ["-d", d.Root, "write", "written", "4096"], new byte[8192]).Code);

		var r = Mapctl("top", "-n", "2");
		Assert.Equal("", r.Err);
		Assert.Equal(0, r.Code);
		var lines = r.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
		// One header: the maps stayed the same, and six lines are not a screenful.
		Assert.Equal(1 + 2 * 3, lines.Length);
		Assert.Equal(["map", "faults/s", "fills/s", "MB/s", "dirty", "resident/max", "waiting", "outst", "p99", "errors", "pager"], Cols(lines[0]));
		Assert.Equal(["idle", "whole", "written", "idle", "whole", "written"], lines.Skip(1).Select(l => Cols(l)[0]));
		foreach (var l in lines.Skip(1))
		{
			var c = Cols(l);
			var st = Status.Parse(d.Ctl($"stat {c[0]}"));
			// Nothing happened while top ran.
			Assert.Equal(["0", "0", "0.0"], c[1..4]);
			Assert.Equal("-", c[8]);
			long max = Num.Size(st["maxresident"], "maxresident");
			Assert.Equal(Num.SizeString(long.Parse(st["dirty"]) * 4096), c[4]);
			Assert.Equal(Num.SizeString(long.Parse(st["resident"]) * 4096) + "/" + (max == 0 ? "-" : Num.SizeString(max)), c[5]);
			Assert.Equal(st["waiting"], c[6]);
			Assert.Equal(st["outstanding"], c[7]);
			Assert.Equal(st["errors"], c[9]);
			Assert.Equal(st["pager"], c[10]);
		}
		Assert.Equal(["8k", "1m/-", "0/64k"], [Cols(lines[3])[4], Cols(lines[2])[5], Cols(lines[1])[5]]);
	}

	[Fact]
	public void HeaderComesBackAfterAScreenful()
	{
		for (int i = 0; i < 11; i++)
			d.Ctl($"new m{i:00} 4k");
		var r = Mapctl("top", "-n", "2");
		Assert.Equal(0, r.Code);
		var lines = r.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
		Assert.Equal(2 + 2 * 11, lines.Length);
		Assert.StartsWith("map ", lines[0]);
		Assert.StartsWith("map ", lines[12]);
		Assert.Equal(2, lines.Count(l => l.StartsWith("map ")));
	}

	[Fact]
	public void EndsQuietlyOnAClosedPipe()
	{
		d.Ctl("new m 4k");
		var err = Path.Combine(tmp, "err");
		var r = Cmd.Sh($"{{ mapctl -d {d.Root} top -n 5 2>{err}; echo $? >{err}.rc; }} | head -1");
		Assert.StartsWith("map ", r.Text);
		Assert.Equal("", File.ReadAllText(err));
		Assert.Equal("0\n", File.ReadAllText(err + ".rc"));
	}

	[Fact]
	public async Task EndsCleanlyOnInterrupt()
	{
		d.Ctl("new m 4k");
		using var p = Cmd.Start("mapctl", ["-d", d.Root, "top"]);
		try
		{
			var err = p.StandardError.ReadToEndAsync();
			var first = await p.StandardOutput.ReadLineAsync().WaitAsync(Cmd.Timeout);
			Assert.StartsWith("map ", first);
			Tmds.Linux.LibC.kill(p.Id, Tmds.Linux.LibC.SIGINT);
			Assert.True(p.WaitForExit(Cmd.Timeout), "mapctl top still running after SIGINT");
			Assert.Equal(0, p.ExitCode);
			Assert.Equal("", await err.WaitAsync(Cmd.Timeout));
		}
		finally
		{
			if (!p.HasExited)
				p.Kill(true);
		}
	}

	[Fact]
	public void BadCount()
	{
		var r = Mapctl("top", "-n", "-3");
		Assert.Equal(1, r.Code);
		Assert.Equal("mapctl: top: bad count -3: want a number of samples\n", r.Err);
	}
}
