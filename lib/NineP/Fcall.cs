using System.Buffers.Binary;
using System.Text;

namespace Pager.NineP;

/// 9P2000.L message types (Linux include/net/9p/9p.h). Each R is its T plus one.
static class Fcall
{
	public const byte Rlerror = 7;
	public const byte Tlopen = 12;
	public const byte Tgetattr = 24;
	public const byte Tfsync = 50;
	public const byte Tversion = 100;
	public const byte Tattach = 104;
	public const byte Twalk = 110;
	public const byte Tread = 116;
	public const byte Twrite = 118;
	public const byte Tclunk = 120;

	public const ushort NoTag = 0xFFFF;
	public const uint NoFid = 0xFFFFFFFF;
	/// Most names in one Twalk.
	public const int MaxWelem = 16;
	/// size[4] type[1] tag[2]
	public const int Hdr = 7;
	/// Room for the header of Tread, Rread, Twrite (Plan 9's IOHDRSZ).
	public const int IoHdr = 24;
	/// type[1] version[4] path[8]
	public const int QidSize = 13;

	public const ulong GetattrSize = 0x200;
	public const ulong GetattrBasic = 0x7FF;

	public static string Name(byte type) => type switch
	{
		Rlerror => "Rlerror",
		Tlopen => "Tlopen",
		Tlopen + 1 => "Rlopen",
		Tgetattr => "Tgetattr",
		Tgetattr + 1 => "Rgetattr",
		Tfsync => "Tfsync",
		Tfsync + 1 => "Rfsync",
		Tversion => "Tversion",
		Tversion + 1 => "Rversion",
		Tattach => "Tattach",
		Tattach + 1 => "Rattach",
		Twalk => "Twalk",
		Twalk + 1 => "Rwalk",
		Tread => "Tread",
		Tread + 1 => "Rread",
		Twrite => "Twrite",
		Twrite + 1 => "Rwrite",
		Tclunk => "Tclunk",
		Tclunk + 1 => "Rclunk",
		_ => $"type {type}",
	};
}
