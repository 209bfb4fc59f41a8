using System.Buffers.Binary;
using System.IO.Compression;

namespace Pager.Tests;

/// An 8-bit RGB or RGBA PNG, as rsvg-convert writes it, decoded into
/// pixels: enough to check a picture's size and what colours it holds.
public sealed class Png
{
	public int Width { get; private init; }
	public int Height { get; private init; }
	byte[] rgb = [];

	public (byte R, byte G, byte B) this[int x, int y] =>
		(rgb[(y * Width + x) * 3], rgb[(y * Width + x) * 3 + 1], rgb[(y * Width + x) * 3 + 2]);

	public static Png Read(string path)
	{
		var b = File.ReadAllBytes(path);
		if (b.Length < 8 || !b.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a }))
			throw new InvalidDataException($"{path}: not a PNG");
		int w = 0, h = 0, depth = 0, type = 0;
		var idat = new MemoryStream();
		for (int p = 8; p + 8 <= b.Length;)
		{
			int len = BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(p));
			var kind = System.Text.Encoding.ASCII.GetString(b, p + 4, 4);
			var data = b.AsSpan(p + 8, len);
			if (kind == "IHDR")
				(w, h, depth, type) = (BinaryPrimitives.ReadInt32BigEndian(data), BinaryPrimitives.ReadInt32BigEndian(data[4..]), data[8], data[9]);
			else if (kind == "IDAT")
				idat.Write(data);
			p += 12 + len;
		}
		if (depth != 8 || type is not (2 or 6) || (b[8 + 8 + 12] != 0))
			throw new InvalidDataException($"{path}: depth {depth}, colour type {type}: want 8-bit RGB or RGBA, not interlaced");
		int bpp = type == 6 ? 4 : 3, stride = w * bpp;
		idat.Position = 0;
		using var z = new ZLibStream(idat, CompressionMode.Decompress);
		var raw = new MemoryStream();
		z.CopyTo(raw);
		var f = raw.ToArray();
		if (f.Length != h * (stride + 1))
			throw new InvalidDataException($"{path}: {f.Length} bytes of image data, want {h * (stride + 1)}");
		var cur = new byte[stride];
		var prev = new byte[stride];
		var png = new Png { Width = w, Height = h, rgb = new byte[w * h * 3] };
		for (int y = 0; y < h; y++)
		{
			int filter = f[y * (stride + 1)];
			f.AsSpan(y * (stride + 1) + 1, stride).CopyTo(cur);
			for (int i = 0; i < stride; i++)
			{
				int a = i >= bpp ? cur[i - bpp] : 0, up = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
				cur[i] += filter switch
				{
					0 => 0,
					1 => (byte)a,
					2 => (byte)up,
					3 => (byte)((a + up) / 2),
					4 => Paeth(a, up, c),
					_ => throw new InvalidDataException($"{path}: filter {filter} in row {y}"),
				};
			}
			for (int x = 0; x < w; x++)
			{
				// Blend over white, as a viewer shows it.
				int alpha = bpp == 4 ? cur[x * 4 + 3] : 255;
				for (int k = 0; k < 3; k++)
					png.rgb[(y * w + x) * 3 + k] = (byte)((cur[x * bpp + k] * alpha + 255 * (255 - alpha)) / 255);
			}
			(prev, cur) = (cur, prev);
		}
		return png;
	}

	static byte Paeth(int a, int b, int c)
	{
		int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
		return (byte)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
	}
}
