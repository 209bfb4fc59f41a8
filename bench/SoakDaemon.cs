using System.Diagnostics;
using Pager.Client;

namespace Pager.Bench;

/// The soak's pagerd: started, killed outright and started again on the
/// same namespace, its log appended to a file across its lives.
sealed class SoakDaemon : IDisposable
{
	public readonly string Root;
	readonly string bin, logPath;
	Process p;

	public SoakDaemon(string bin, string root, string logPath)
	{
		this.bin = bin;
		this.logPath = logPath;
		Root = root;
		p = Launch();
	}

	Process Launch()
	{
		var np = Proc.Start(bin, ["-f", "-F", "-d", Root], redirect: true);
		var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
		np.ErrorDataReceived += (_, e) =>
		{
			if (e.Data is null)
				log.Dispose();
			else
				lock (log)
					log.WriteLine(e.Data);
		};
		np.OutputDataReceived += (_, _) => { };
		np.BeginErrorReadLine();
		np.BeginOutputReadLine();
		var end = DateTime.UtcNow.AddSeconds(30);
		while (!Serving())
		{
			if (np.HasExited || DateTime.UtcNow > end)
				throw new BenchException($"pagerd did not serve {Root}; its log is {logPath}");
			Thread.Sleep(20);
		}
		return np;
	}

	bool Serving() => Control.Answers(Root);

	public bool Alive => !p.HasExited;

	public List<string> Call(string line)
	{
		using var c = new Control(Root);
		return c.Call(line);
	}

	/// kill -9, as a crash; then the next pagerd on the same namespace.
	public void Restart()
	{
		p.Kill();
		p.WaitForExit();
		p.Dispose();
		p = Launch();
	}

	public void Dispose()
	{
		if (!p.HasExited)
		{
			Pager.Kernel.Posix.Kill(p.Id, Pager.Kernel.Posix.SIGTERM);
			if (!p.WaitForExit(30_000))
				p.Kill();
		}
		p.Dispose();
	}
}
