using Pager.Client;
using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Cmd;

/// The verbs of mapctl, each a short function over lib/Client.
sealed class Mapctl(string? root)
{
	public static bool Force, Watch;
	public static int Count;

	/// Runs one verb; failures print `mapctl: what: why` and exit 1.
	public static int Run(string? root, Func<Mapctl, int> verb)
	{
		try
		{
			return verb(new Mapctl(root));
		}
		catch (Exception e) when (e is PagerException or SysException or ProtocolException)
		{
			return Exits.Fail("mapctl", e);
		}
	}

	/// A control message whose reply lines go to standard output.
	public int Ctl(string verb, string[] args)
	{
		if (verb == "rm" && Force)
			args = [.. args, "force"];
		using var c = new Control(root);
		foreach (var l in c.Call(Line(verb, args)))
			Console.Out.WriteLine(l);
		return 0;
	}

	/// The control line for a verb and its arguments, quoted as needed.
	static string Line(string verb, string[] args) => string.Join(' ', args.Select(Fields.Quote).Prepend(verb));

	public int Stat(string[] a)
	{
		if (!Watch)
			return Ctl("stat", a);
		var name = a[0];
		using var c = new Control(root);
		string[] cols = ["resident", "faults", "requests", "fills", "filled", "waiting", "dirty", "errors"];
		for (int n = 0; Count == 0 || n < Count; n++)
		{
			if (n > 0)
				Thread.Sleep(1000);
			var kv = Status.Parse(c.Call(Line("stat", a)));
			if (n == 0)
				Console.Out.WriteLine(string.Join(' ', cols.Select(k => k.PadLeft(10))));
			Console.Out.WriteLine(string.Join(' ', cols.Select(k => kv[k].PadLeft(10))));
			Console.Out.Flush();
		}
		return 0;
	}

	/// Every map, a line each, once a second; an interrupt ends it with
	/// status 0, as the end of its count does.
	public int Top(string[] a)
	{
		if (Count < 0)
			throw new PagerException($"top: bad count {Count}: want a number of samples");
		using var c = new Control(root);
		using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(
			System.Runtime.InteropServices.PosixSignal.SIGINT, _ => Environment.Exit(0));
		new Top(c).Run(Count);
		return 0;
	}

	/// Prints each range that did not become durable, and fails.
	public int Sync(string[] a)
	{
		using var c = new Control(root);
		var failed = c.Call(Line("sync", a), -1, out _, TimeSpan.FromMinutes(10));
		foreach (var f in failed)
			Console.Error.WriteLine($"mapctl: sync {a[0]}: {f}");
		return failed.Count == 0 ? 0 : 1;
	}

	/// Attaches the map and copies standard input into it: the shell's way
	/// to dirty pages. They stay dirty in the map until a sync.
	public int Write(string[] a)
	{
		using var m = Mapping.Attach(a[0], new AttachOptions { Root = root });
		long off = Num.Size(a[1], "offset");
		var buf = new byte[1 << 20];
		using var stdin = Console.OpenStandardInput();
		for (int n; (n = stdin.Read(buf, 0, buf.Length)) > 0; off += n)
		{
			if (off + n > m.Size)
				throw new PagerException($"write {a[0]}: {off + n - m.Size} bytes would go past the end of the map (size {m.Size})");
			m.Write(off, buf.AsSpan(0, n));
		}
		return 0;
	}

	/// Attaches the map and copies its bytes out through a buffer of our
	/// own, so every fault is a user-mode one that pagerd serves.
	public unsafe int Cat(string[] a)
	{
		using var m = Mapping.Attach(a[0], new AttachOptions { ReadOnly = true, Root = root });
		long off = a.Length > 1 ? Num.Size(a[1], "offset") : 0;
		long len = a.Length > 2 ? Num.Size(a[2], "length") : m.Size - off;
		if (off > m.Size)
			throw new PagerException($"cat {a[0]}: offset {off} is past the end of the map (size {m.Size})");
		if (len > m.Size - off)
			throw new PagerException($"cat {a[0]}: {off}+{len} goes past the end of the map (size {m.Size})");
		// Straight to write(2): .NET's console stream would hide EPIPE and
		// fault in the rest of the map for a reader that has gone.
		var buf = new byte[1 << 20];
		for (long done = 0; done < len;)
		{
			int n = (int)Math.Min(buf.Length, len - done);
			m.Read(off + done, buf.AsSpan(0, n));
			Posix.WriteAll(1, buf.AsSpan(0, n), "standard output");
			done += n;
		}
		return 0;
	}
}
