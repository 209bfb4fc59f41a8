using Xunit;

namespace Pager.Tests;

/// libpager as a C or Python program uses it: out/lib/libpager.so and
/// out/include/pager.h, which .ci/setup (or mk) builds, and C programs
/// compiled against them with gcc.
public static class Libpager
{
	public static string LibDir => Path.Combine(Cmd.Repo, "out", "lib");
	public static string IncludeDir => Path.Combine(Cmd.Repo, "out", "include");

	/// tests/c/mapuse.c, built once a run.
	public static string Mapuse => mapuse.Value;
	static readonly Lazy<string> mapuse = new(() => Compile(Path.Combine(Cmd.Repo, "tests", "c", "mapuse.c")));

	static readonly string dir = Directory.CreateTempSubdirectory("pager-c").FullName;

	static Libpager() => AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(dir, true);

	/// Compiles a C program against pager.h and libpager.so; returns the
	/// executable's path.
	public static string Compile(string source)
	{
		Assert.True(File.Exists(Path.Combine(LibDir, "libpager.so")) && File.Exists(Path.Combine(IncludeDir, "pager.h")),
			$"no libpager in {LibDir} and {IncludeDir}: run sh .ci/setup (or mk)");
		var exe = Path.Combine(dir, $"{Path.GetFileNameWithoutExtension(source)}-{Guid.NewGuid():N}");
		var r = Cmd.Run("gcc", ["-Wall", "-Werror", "-O2", "-pthread", $"-I{IncludeDir}", "-o", exe, source, $"-L{LibDir}", "-lpager"]);
		Assert.True(r.Code == 0, $"gcc {source}: {r.Err}");
		return exe;
	}

	/// Compiles C source text.
	public static string CompileText(string name, string text)
	{
		var src = Path.Combine(dir, $"{name}-{Guid.NewGuid():N}.c");
		File.WriteAllText(src, text);
		return Compile(src);
	}

	/// pagerd's namespace and the library's directory for the loader
	/// (gcc's -L and Python's ctypes.CDLL("libpager.so") find it there).
	public static Dictionary<string, string> Env(Dictionary<string, string> env, string? grace = null)
	{
		var e = new Dictionary<string, string>(env) { ["LD_LIBRARY_PATH"] = LibDir };
		if (grace is not null)
			e["PAGER_GRACE"] = grace;
		return e;
	}
}
