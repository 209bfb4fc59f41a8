using System.Text;

namespace Pager.Protocol;

/// What `attach` answers, in one line: NAME size=S length=L pagesize=P
/// mode=ro|rw. A client maps length bytes, the size rounded up to a page.
public sealed record AttachInfo(string Name, long Size, long Length, long PageSize, bool ReadOnly)
{
	public override string ToString() =>
		$"{Fields.Quote(Name)} size={Size} length={Length} pagesize={PageSize} mode={Wire.Mode(ReadOnly)}";

	public static AttachInfo Parse(string line)
	{
		var w = Fields.Split(line);
		if (w.Count == 0)
			throw new ProtocolException("empty attach reply");
		var kv = KeyValues.Parse(w.Skip(1));
		string what = $"attach reply '{Protocol.Parse.Clip(line)}'";
		return new AttachInfo(w[0],
			Num.Parse(kv.Need("size", what), "size"),
			Num.Parse(kv.Need("length", what), "length"),
			Num.Size(kv.Need("pagesize", what), "pagesize"),
			kv.Need("mode", what) == "ro");
	}
}
