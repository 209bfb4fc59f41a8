namespace Pager.Bench;

/// The toolkit's commands as the benchmark runs them: NativeAOT binaries
/// published once into bench/obj/aot (again only when a source is newer),
/// else the Release apphosts.
sealed class Commands
{
	public static readonly string[] Names = ["pagerd", "faultcat", "pagefill", "mapctl"];

	public readonly string Bin;        // a directory of links to the four, for PATH
	public readonly bool Aot;
	readonly Dictionary<string, string> path = [];

	public Commands(string repo, string tmp, bool aot)
	{
		Bin = Path.Combine(tmp, "bin");
		Directory.CreateDirectory(Bin);
		Aot = aot && Names.All(n => Publish(repo, n));
		foreach (var n in Names)
		{
			path[n] = Aot ? AotPath(repo, n) : Apphost(repo, n);
			if (!Aot && !File.Exists(path[n]))
				Proc.Run("dotnet", ["build", "-c", "Release", "-nologo", "-v", "q", Path.Combine(repo, "cmd", n, n + ".csproj")]);
			File.CreateSymbolicLink(Path.Combine(Bin, n), path[n]);
		}
	}

	public string this[string name] => path[name];

	public static string AotPath(string repo, string n) => Path.Combine(repo, "bench", "obj", "aot", n, n);
	public static string Apphost(string repo, string n) => Path.Combine(repo, "cmd", n, "bin", "Release", "net10.0", n);

	/// Publishes cmd/n with NativeAOT unless the binary is newer than
	/// every source it is built from; false if publishing fails.
	static bool Publish(string repo, string n)
	{
		var bin = AotPath(repo, n);
		var sources = new[] { Path.Combine(repo, "lib"), Path.Combine(repo, "cmd", n) }
			.SelectMany(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories))
			.Where(f => !f.Contains("/obj/") && !f.Contains("/bin/"));
		if (File.Exists(bin) && sources.All(f => File.GetLastWriteTimeUtc(f) < File.GetLastWriteTimeUtc(bin)))
			return true;
		Console.Error.WriteLine($"bench: publishing {n} with NativeAOT");
		try
		{
			Proc.Run("dotnet", ["publish", Path.Combine(repo, "cmd", n, n + ".csproj"), "-c", "Release", "-r", "linux-x64",
				"-nologo", "-v", "q", "-o", Path.GetDirectoryName(bin)!]);
			return true;
		}
		catch (BenchException e)
		{
			Console.Error.WriteLine($"bench: NativeAOT publish failed, using the apphosts: {e.Message}");
			return false;
		}
	}
}
