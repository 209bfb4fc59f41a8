using Pager.Kernel;
using Pager.NineP;
using Pager.Protocol;

namespace Pager.Sources;

/// How pagefill(1) was told to use its source.
public sealed class SourceConfig
{
	/// file: the file offset of map offset 0.
	public long FileOff;
	/// file: send the bytes inline as data instead of file replies.
	public bool Inline;
	/// 9p: the attach name, the export on the server.
	public string Aname = "";
	/// Where a source says what the user should know but pagerd need not.
	public Action<string> Warn = _ => { };
}
