using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Daemon;

/// A map's parameters, set by `new` and `set` control messages.
public sealed class Options
{
	/// The largest page unit and read-ahead: what one request may ask.
	public const long MaxUnit = 1L << 30;

	public long PageSize = Page.Size;
	/// The size of the huge pages the map's memory is made of, or zero
	/// for ordinary pages (shmem).
	public long Huge;
	/// The huge page size there is: x86-64's default.
	public const long HugeSize = 2 << 20;
	/// Built-in source: "file:PATH", "zero", or "" for none.
	public string Source = "";
	/// Where the map starts in its source.
	public long Offset;
	public bool ReadOnly;
	public long ReadAhead;
	/// Zero: wait for ever.
	public TimeSpan Timeout;
	public Policy Policy = Policy.Sigbus;
	/// Write-behind: dirty pages are written back after this long (zero:
	/// only on sync), or at once when more than DirtyLimit bytes are dirty.
	public TimeSpan WriteBehind;
	public long DirtyLimit;
	/// Resident bytes kept under this by eviction (zero: no bound).
	public long MaxResident;

	/// Applies key=value fields to a map of the given size; an unknown key
	/// or bad value is an error that names it. Keys that cannot change
	/// once the map exists are refused when creating is false.
	public void Apply(KeyValues fields, bool creating, long size)
	{
		foreach (var (key, v) in fields)
			Apply(key, v, creating);
		// A huge page is filled whole: it is the least a request asks.
		PageSize = Math.Max(PageSize, Huge);
		// A bound smaller than two fills would evict what it just filled.
		if (MaxResident != 0 && MaxResident < 2 * Math.Max(ReadAhead, PageSize))
			throw new CtlException($"maxresident {Num.SizeString(MaxResident)} is less than twice the read-ahead or page size");
		if (Offset > long.MaxValue - size)
			throw new CtlException($"offset {Offset} and size {size} go past the largest file offset");
	}

	void Apply(string key, string v, bool creating)
	{
		if (!creating && key is "pagesize" or "mode" or "hugepages")
			throw new CtlException($"option '{key}' is fixed when the map is made");
		switch (key)
		{
		case "pagesize":
			PageSize = Num.Size(v, "pagesize");
			if (PageSize < Page.Size || PageSize > MaxUnit || (PageSize & (PageSize - 1)) != 0)
				throw new CtlException($"bad pagesize '{v}': want a power of two from 4k to 1g");
			break;
		case "hugepages":
			Huge = v switch { "none" => 0, "2m" => HugeSize, _ => throw new CtlException($"bad hugepages '{v}': want 2m or none") };
			break;
		case "source":
			if (v != "" && v != "none" && v != "zero" && !v.StartsWith("file:"))
				throw new CtlException($"bad source '{v}': want file:PATH, zero or none");
			if (v.Any(char.IsControl))
				throw new CtlException($"bad source '{Parse.Clip(v)}': control characters in it");
			Source = v == "none" ? "" : v;
			break;
		case "offset":
			Offset = Num.Size(v, "offset");
			break;
		case "mode":
			ReadOnly = v switch { "ro" => true, "rw" => false, _ => throw new CtlException($"bad mode '{v}': want ro or rw") };
			break;
		case "readahead":
			ReadAhead = Num.Size(v, "readahead");
			if (ReadAhead > MaxUnit)
				throw new CtlException($"bad readahead '{v}': at most 1g");
			break;
		case "timeout":
			Timeout = v is "none" or "0" ? TimeSpan.Zero : Num.Duration(v, "timeout");
			break;
		case "policy":
			Policy = v switch
			{
				"wait" => Policy.Wait,
				"zero" => Policy.Zero,
				"sigbus" => Policy.Sigbus,
				_ => throw new CtlException($"bad policy '{v}': want wait, zero or sigbus"),
			};
			break;
		case "writebehind":
			WriteBehind = v is "none" or "0" ? TimeSpan.Zero : Num.Duration(v, "writebehind");
			break;
		case "maxresident":
			MaxResident = Num.Size(v, "maxresident");
			if (MaxResident != 0 && MaxResident < 16 * Page.Size)
				throw new CtlException($"bad maxresident '{v}': want at least 64k");
			break;
		case "dirtylimit":
			DirtyLimit = Num.Size(v, "dirtylimit");
			break;
		default:
			throw new CtlException($"unknown option '{key}'");
		}
	}

	public Options Clone() => (Options)MemberwiseClone();

	/// The options as status fields, in pagerd(8)'s order.
	public IEnumerable<(string Key, string Value)> Fields()
	{
		yield return ("pagesize", Num.SizeString(PageSize));
		yield return ("hugepages", Huge == 0 ? "none" : Num.SizeString(Huge));
		yield return ("source", Source == "" ? "none" : Source);
		yield return ("offset", $"{Offset}");
		yield return ("mode", Wire.Mode(ReadOnly));
		yield return ("readahead", Num.SizeString(ReadAhead));
		yield return ("timeout", Timeout == TimeSpan.Zero ? "none" : $"{(long)Timeout.TotalMilliseconds}ms");
		yield return ("policy", Policy.ToString().ToLowerInvariant());
		yield return ("writebehind", WriteBehind == TimeSpan.Zero ? "none" : $"{(long)WriteBehind.TotalMilliseconds}ms");
		yield return ("dirtylimit", Num.SizeString(DirtyLimit));
		yield return ("maxresident", Num.SizeString(MaxResident));
	}

	/// The options as key=value words, as `new` takes them.
	public IEnumerable<string> Words() => Fields().Select(f => KeyValues.Word(f.Key, f.Value));
}
