using Pager.Protocol;

namespace Pager.Daemon;

/// What to do with a fault nobody could answer: after the map's timeout,
/// or on an error reply.
public enum Policy { Wait, Zero, Sigbus }

/// A map's parameters, set by `new` and `set` control messages.
public sealed class Options
{
	public long PageSize = 4096;
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

	/// Applies key=value words; an unknown key or bad value is an error
	/// that names it. Keys that cannot change once the map exists are
	/// refused when creating is false.
	public void Apply(IEnumerable<string> words, bool creating)
	{
		foreach (var w in words)
		{
			int eq = w.IndexOf('=');
			if (eq <= 0)
				throw new CtlException($"bad option '{w}' (want key=value)");
			Apply(w[..eq], w[(eq + 1)..], creating);
		}
		// A bound smaller than two fills would evict what it just filled.
		if (MaxResident != 0 && MaxResident < 2 * Math.Max(ReadAhead, PageSize))
			throw new CtlException($"maxresident {Num.SizeString(MaxResident)} is less than twice the read-ahead or page size");
	}

	void Apply(string key, string v, bool creating)
	{
		if (!creating && key is "pagesize" or "mode")
			throw new CtlException($"option '{key}' is fixed when the map is made");
		switch (key)
		{
		case "pagesize":
			PageSize = Num.Size(v, "pagesize");
			if (PageSize < 4096 || (PageSize & (PageSize - 1)) != 0)
				throw new CtlException($"bad pagesize '{v}': want a power of two, at least 4k");
			break;
		case "source":
			if (v != "" && v != "none" && v != "zero" && !v.StartsWith("file:"))
				throw new CtlException($"bad source '{v}': want file:PATH, zero or none");
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
			if (MaxResident != 0 && MaxResident < 16 * 4096)
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

	public IEnumerable<string> Words()
	{
		yield return $"pagesize={Num.SizeString(PageSize)}";
		yield return $"source={(Source == "" ? "none" : Source)}";
		yield return $"offset={Offset}";
		yield return $"mode={(ReadOnly ? "ro" : "rw")}";
		yield return $"readahead={Num.SizeString(ReadAhead)}";
		yield return $"timeout={(Timeout == TimeSpan.Zero ? "none" : $"{(long)Timeout.TotalMilliseconds}ms")}";
		yield return $"policy={Policy.ToString().ToLowerInvariant()}";
		yield return $"writebehind={(WriteBehind == TimeSpan.Zero ? "none" : $"{(long)WriteBehind.TotalMilliseconds}ms")}";
		yield return $"dirtylimit={Num.SizeString(DirtyLimit)}";
		yield return $"maxresident={Num.SizeString(MaxResident)}";
	}
}

/// A control message that cannot be carried out; the text goes back to
/// whoever sent it.
public sealed class CtlException(string message) : Exception(message);
