using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Pager.Daemon;
using Pager.Kernel;
using Pager.Protocol;

// pagerd: serves maps to attached processes over userfaultfd; see pagerd(8).

var fg = new Option<bool>("-f") { Description = "stay in the foreground and log to standard error" };
var dir = new Option<string?>("-d") { Description = "serve the namespace in DIR (default $PAGERDIR)", HelpName = "DIR" };
var mnt = new Option<string?>("-m") { Description = "serve the maps as files in MNT (default DIR/mnt)", HelpName = "MNT" };
var nofiles = new Option<bool>("-F") { Description = "serve no file view" };
// The keeper pagerd starts for itself (pagerd(8), "Restarts"); not for people.
var keeper = new Option<bool>("-K") { Hidden = true };
var cmd = new RootCommand("pagerd: serve maps whose page faults become text requests") { fg, dir, mnt, nofiles, keeper };
cmd.SetAction(r =>
{
	var root = r.GetValue(dir) ?? Dir.Root();
	if (r.GetValue(keeper))
		return Pagerd.Keep(root);
	return Pagerd.Serve(r.GetValue(fg), root, r.GetValue(nofiles) ? null : r.GetValue(mnt) ?? Dir.Files(root));
});
return cmd.Parse(args).Invoke();

static unsafe class Pagerd
{
	const string Detached = "PAGERD_DETACHED";

	public static int Serve(bool foreground, string root, string? files)
	{
		if (!foreground)
			return Background(root, files);
		// The signals are caught before the socket is made: a SIGTERM sent
		// as soon as pagerd serves is a clean exit too.
		Server? started = null;
		bool stopping = false;
		var gate = new object();
		void Stop(PosixSignalContext c)
		{
			c.Cancel = true;
			lock (gate)
			{
				stopping = true;
				started?.Stop();
			}
		}
		using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
		using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
		using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => c.Cancel = true);
		Server srv;
		try
		{
			srv = new Server(root, files, [Environment.ProcessPath!, "-K", "-d", root], Log);
		}
		catch (Exception e) when (e is SysException or CtlException or NotSupportedException)
		{
			Console.Error.WriteLine($"pagerd: {root}: {e.Message}");
			return 1;
		}
		lock (gate)
		{
			started = srv;
			if (stopping)
				srv.Stop();
		}
		if (Environment.GetEnvironmentVariable(Detached) == "1")
			Detach();
		Log($"serving {root}");
		srv.Run();
		srv.WriteBackAll(TimeSpan.FromSeconds(10));
		srv.Dispose();
		Log("exiting");
		return 0;
	}

	static void Log(string s) => Console.Error.WriteLine($"pagerd: {s}");

	/// The keeper's life, in a session of its own so that nothing sent
	/// to pagerd's reaches it.
	public static int Keep(string root)
	{
		Posix.Daemonize();
		try
		{
			Keeper.Run(root);
			return 0;
		}
		catch (SysException)
		{
			return 1;
		}
	}

	/// Starts `pagerd -f` as a daemon and returns once it serves, or
	/// prints why it could not.
	static int Background(string root, string? files)
	{
		var psi = new ProcessStartInfo(Environment.ProcessPath!)
		{
			RedirectStandardInput = true,
			RedirectStandardOutput = true,
			RedirectStandardError = true,
		};
		psi.ArgumentList.Add("-f");
		psi.ArgumentList.Add("-d");
		psi.ArgumentList.Add(root);
		if (files is null)
			psi.ArgumentList.Add("-F");
		else
		{
			psi.ArgumentList.Add("-m");
			psi.ArgumentList.Add(files);
		}
		psi.Environment[Detached] = "1";
		using var p = Process.Start(psi)!;
		var said = p.StandardError.ReadToEndAsync();
		var sock = Dir.Socket(root);
		for (int i = 0; i < 200 && !p.HasExited && !Serving(sock); i++)
			Thread.Sleep(50);
		if (p.HasExited || !Serving(sock))
		{
			if (!p.HasExited)
				p.Kill();
			p.WaitForExit();
			Console.Error.Write(said.Result);
			return 1;
		}
		return 0;
	}

	static bool Serving(string sock)
	{
		try
		{
			Posix.Close(UnixSocket.Connect(sock));
			return true;
		}
		catch (SysException)
		{
			return false;
		}
	}

	/// Leaves the caller's session and standard streams behind.
	static void Detach()
	{
		Posix.Daemonize();
	}
}
