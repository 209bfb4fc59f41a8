using System.Buffers.Binary;
using System.Text;

namespace Pager.NineP;

/// A message being packed or unpacked: little-endian integers,
/// strings as len[2] bytes, no NUL. Running off the end of a reply is
/// a protocol error, made by botch, not an index out of range.
sealed class Buf(int size, Func<string, Exception> botch)
{
	public byte[] B = new byte[size];
	public int N;    // pack: bytes so far; unpack: read cursor
	public int End;  // unpack: bytes in the message

	/// Starts a T-message; the size is filled in by Seal.
	public void Begin(byte type, ushort tag)
	{
		N = 4;
		P1(type);
		P2(tag);
	}

	public void Seal() => BinaryPrimitives.WriteUInt32LittleEndian(B, (uint)N);

	public void P1(byte v) => B[N++] = v;

	public void P2(ushort v)
	{
		BinaryPrimitives.WriteUInt16LittleEndian(B.AsSpan(N), v);
		N += 2;
	}

	public void P4(uint v)
	{
		BinaryPrimitives.WriteUInt32LittleEndian(B.AsSpan(N), v);
		N += 4;
	}

	public void P8(ulong v)
	{
		BinaryPrimitives.WriteUInt64LittleEndian(B.AsSpan(N), v);
		N += 8;
	}

	public void Ps(string s)
	{
		int n = Encoding.UTF8.GetBytes(s, B.AsSpan(N + 2));
		P2((ushort)n);
		N += n;
	}

	public void Pdata(ReadOnlySpan<byte> d)
	{
		d.CopyTo(B.AsSpan(N));
		N += d.Length;
	}

	/// Room left for data after what is packed so far.
	public int Room => B.Length - N;

	Span<byte> Take(int n)
	{
		if (n < 0 || n > End - N)
			throw botch("short message");
		var s = B.AsSpan(N, n);
		N += n;
		return s;
	}

	public byte G1() => Take(1)[0];
	public ushort G2() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));
	public uint G4() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
	public ulong G8() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
	public string Gs() => Encoding.UTF8.GetString(Take(G2()));
	public Span<byte> Gdata(int n) => Take(n);
	public void Gqid() => Take(Fcall.QidSize);
}
