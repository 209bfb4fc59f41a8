namespace Pager.Bench;

/// The file view's paths: a map with the built-in source and the cell's
/// read-ahead, as the attached client's (Sys.Builtin), read as the file
/// $PAGERDIR/mnt/NAME by the handler program with pread(2) or mmap(2),
/// exactly as it reads the source file for the kernel's references.
///
/// Every run has a map of its own, so a new inode: the kernel has none of
/// its pages cached, and every read of the run is a FUSE request to
/// pagerd. For ViewRead and ViewMmap the map starts empty, so a request
/// waits for the source; for WarmRead and WarmMmap the map is filled first
/// (prefetch), so pagerd answers each from the map's memory and the run
/// costs the FUSE round trips alone. Filling goes around the file view, so
/// the kernel caches nothing of it, and the reader's own open would drop
/// what it had (pagerd(8): the next open drops the file's cached pages).
sealed class FileViewRunner(Native native, Daemon d)
{
	/// Made at the first run: the profile's pagerd has a runner too, and
	/// never reads its file view.
	readonly Lazy<FuseCounter?> counter = new(() => FuseCounter.For(Path.Combine(d.Root, "mnt")));
	readonly string counts = Path.Combine(Path.GetDirectoryName(d.Root)!, "fuse-reads");

	public Sample Run(Sys s, Cell c, int run)
	{
		var name = d.NewName();
		d.Call($"new {name} {c.Size} readahead={c.Chunk} source=file:{c.File}");
		try
		{
			if (s is Sys.WarmRead or Sys.WarmMmap)
				Fill(name, c.Size);
			return Read(s, c, run, name);
		}
		finally
		{
			d.Call($"rm {name} force");
		}
	}

	/// One run of the handler on the map's file, with pagerd's CPU time and
	/// the source requests the map made meanwhile, and the FUSE read
	/// requests it was sent when perf can count them. pagerd's CPU is of the
	/// handler's whole run, so it also serves the run's few other requests
	/// (lookup, open, getattr, release).
	Sample Read(Sys s, Cell c, int run, string name)
	{
		var mode = s is Sys.ViewRead or Sys.WarmRead ? "read" : "mmap";
		var file = Path.Combine(d.Root, "mnt", name);
		var prefix = counter.Value?.Prefix(counts);
		var (req, srv) = (d.Count(name, "requests"), Proc.Cost([d.Pid]));
		var r = native.Run(["run", mode, file, .. c.Args[1..]], c.Pinned, prefix);
		var cost = Proc.Cost([d.Pid]) - srv;
		long reads = counter.Value?.Read(counts) ?? 0;
		return new Sample(s, c, run, long.Parse(r["ns"]), reads, Convert.ToUInt64(r["sum"], 16), cost, [])
		{
			Requests = d.Count(name, "requests") - req,
		};
	}

	/// Has the built-in source bring in every page of the map, and waits
	/// until they are all resident.
	void Fill(string name, long size)
	{
		d.Call($"prefetch {name}");
		long pages = (size + 4095) / 4096;
		var end = DateTime.UtcNow.AddMinutes(2);
		while (d.Count(name, "resident") < pages)
		{
			if (DateTime.UtcNow > end)
				throw new BenchException($"map {name}: prefetch did not bring in its {pages} pages");
			Thread.Sleep(5);
		}
	}
}
