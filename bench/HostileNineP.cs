using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Pager.Bench;

/// A 9P2000.L server of one file that breaks the protocol on purpose:
/// each connection answers a few requests correctly and then one reply
/// goes wrong, and again after as many more, always in the same way (its size, its tag, its type, a count, its
/// bytes, or the connection stops). While Good is set it answers every
/// request correctly, to show that a client recovers.
sealed class HostileNineP : IDisposable
{
	public enum Botch { None, SizeSmall, SizeHuge, Cut, Close, Tag, Type, Lerror, Flip, Random, Trailing, Count, Garbage, Twice, Stall }

	readonly TcpListener listen = new(IPAddress.Loopback, 0);
	readonly byte[] file;
	readonly Random r;
	readonly Thread acceptor;
	readonly List<Socket> conns = [];
	public volatile bool Good;
	/// A stall outlasts the client's timeout: too slow for every run.
	public volatile bool Stalls = true;
	public long Botched;

	public int Port => ((IPEndPoint)listen.LocalEndpoint).Port;
	public string Source => $"9p:tcp!127.0.0.1!{Port}/d/f";

	public HostileNineP(byte[] file, int seed)
	{
		this.file = file;
		r = new Random(seed);
		listen.Start();
		acceptor = new Thread(Accept) { IsBackground = true, Name = "9p accept" };
		acceptor.Start();
	}

	void Accept()
	{
		for (;;)
		{
			Socket s;
			try
			{
				s = listen.AcceptSocket();
			}
			catch (Exception e) when (e is SocketException or ObjectDisposedException)
			{
				return;
			}
			lock (conns)
				conns.Add(s);
			Botch b;
			int after;
			lock (r)
			{
				b = r.Next(4) == 0 ? Botch.None : (Botch)r.Next(1, Stalls ? 15 : 14);
				after = r.Next(8);
			}
			new Thread(() => Serve(s, b, after, new Random(after * 31 + (int)b))) { IsBackground = true }.Start();
		}
	}

	void Serve(Socket s, Botch botch, int after, Random rr)
	{
		try
		{
			var head = new byte[4];
			for (int n = 0; ; n++)
			{
				if (!Fill(s, head))
					return;
				int size = (int)BinaryPrimitives.ReadUInt32LittleEndian(head);
				if (size < 7 || size > 1 << 20)
					return;
				var t = new byte[size];
				head.CopyTo(t, 0);
				if (!Fill(s, t.AsSpan(4)))
					return;
				var reply = Answer(t);
				if (n % (after + 1) == after && botch != Botch.None && !Good)
				{
					Interlocked.Increment(ref Botched);
					if (!Spoil(s, reply, botch, rr, t[4]))
						return;
				}
				else
					s.Send(reply);
			}
		}
		catch (Exception e) when (e is SocketException or ObjectDisposedException)
		{
		}
		finally
		{
			s.Dispose();
		}
	}

	static bool Fill(Socket s, Span<byte> b)
	{
		while (b.Length > 0)
		{
			int n = s.Receive(b);
			if (n == 0)
				return false;
			b = b[n..];
		}
		return true;
	}

	/// Sends reply spoilt as botch says; false when the connection is to end.
	bool Spoil(Socket s, byte[] reply, Botch botch, Random rr, byte ttype)
	{
		var b = (byte[])reply.Clone();
		switch (botch)
		{
		case Botch.SizeSmall: Put4(b, 0, (uint)rr.Next(0, 7)); break;
		case Botch.SizeHuge: Put4(b, 0, rr.Next(2) == 0 ? uint.MaxValue : (uint)b.Length + (uint)rr.Next(1, 1 << 20)); break;
		case Botch.Cut: s.Send(b.AsSpan(0, rr.Next(b.Length))); return false;
		case Botch.Close: return false;
		case Botch.Tag: b[5] ^= (byte)rr.Next(1, 256); break;
		case Botch.Type: b[4] = (byte)rr.Next(256); break;
		case Botch.Lerror:
			b = Msg(7, b[5] | b[6] << 8, w => w.Write(BitConverter.GetBytes(rr.Next(3) switch { 0 => 0, 1 => -1, _ => rr.Next() })));
			if (rr.Next(2) == 0)
				b = [.. b, 0]; // an Rlerror of the wrong size
			break;
		case Botch.Flip: if (b.Length > 7) b[rr.Next(7, b.Length)] ^= (byte)(1 << rr.Next(8)); break;
		case Botch.Random: rr.NextBytes(b.AsSpan(7)); break;
		case Botch.Trailing: b = [.. b, .. new byte[rr.Next(1, 64)]]; Put4(b, 0, (uint)b.Length); break;
		case Botch.Count: Counts(b, ttype, rr); break;
		case Botch.Garbage: rr.NextBytes(b); break;
		case Botch.Twice: s.Send(b); break;
		case Botch.Stall: Thread.Sleep(1500); break;
		}
		s.Send(b);
		return true;
	}

	/// The reply's own counts and sizes made to lie: a read's count, a
	/// walk's qids, the version's msize and name, the size a getattr gives.
	void Counts(byte[] b, byte ttype, Random rr)
	{
		if (b.Length < 11)
			return;
		switch (ttype)
		{
		case 116: Put4(b, 7, rr.Next(2) == 0 ? uint.MaxValue : BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(7)) + (uint)rr.Next(1, 9000)); break;
		case 110: BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(7), (ushort)rr.Next(0, 65536)); break;
		case 100: Put4(b, 7, (uint)rr.Next(3) switch { 0 => 0u, 1 => uint.MaxValue, _ => 100u }); if (rr.Next(2) == 0) b[^1] = (byte)'X'; break;
		case 24 when b.Length >= 7 + 8 + 13 + 12 + 16 + 8: // size after valid qid mode uid gid nlink rdev
			BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(7 + 8 + 13 + 12 + 16), rr.Next(2) == 0 ? ulong.MaxValue : 1UL << 63);
			if (rr.Next(2) == 0)
				BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(7), 0);
			break;
		default: Put4(b, 7, uint.MaxValue); break;
		}
	}

	static void Put4(byte[] b, int at, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), v);

	/// The correct reply to T-message t.
	byte[] Answer(byte[] t)
	{
		byte type = t[4];
		int tag = t[5] | t[6] << 8;
		var body = t.AsSpan(7);
		byte[] qid = new byte[13];
		switch (type)
		{
		case 100: // Tversion msize[4] version[s]
			uint msize = BinaryPrimitives.ReadUInt32LittleEndian(body);
			return Msg(101, tag, w => { w.Write(msize); WriteS(w, "9P2000.L"); });
		case 104: return Msg(105, tag, w => w.Write(qid));
		case 110: // Twalk fid[4] newfid[4] nwname[2] ...
			int nw = BinaryPrimitives.ReadUInt16LittleEndian(body[8..]);
			return Msg(111, tag, w => { w.Write((ushort)nw); for (int i = 0; i < nw; i++) w.Write(qid); });
		case 12: return Msg(13, tag, w => { w.Write(qid); w.Write(0u); });
		case 116: // Tread fid[4] offset[8] count[4]
			long off = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(body[4..]), (ulong)file.Length);
			int count = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(body[12..]), (uint)(file.Length - off));
			return Msg(117, tag, w => { w.Write(count); w.Write(file, (int)off, count); });
		case 118:
			uint wrote = BinaryPrimitives.ReadUInt32LittleEndian(body[12..]);
			return Msg(119, tag, w => w.Write(wrote));
		case 50: return Msg(51, tag, _ => { });
		case 24:
			return Msg(25, tag, w =>
			{
				w.Write(0x7FFUL);
				w.Write(qid);
				w.Write(0x81a4u);
				w.Write(0u);
				w.Write(0u);
				w.Write(1UL);
				w.Write(0UL);
				w.Write((ulong)file.Length);
				for (int i = 0; i < 12; i++)
					w.Write(0UL);
			});
		case 120: return Msg(121, tag, _ => { });
		default: return Msg(7, tag, w => w.Write(38)); // ENOSYS
		}
	}

	static byte[] Msg(byte type, int tag, Action<BinaryWriter> body)
	{
		var m = new MemoryStream();
		var w = new BinaryWriter(m);
		w.Write(0u);
		w.Write(type);
		w.Write((ushort)tag);
		body(w);
		w.Flush();
		var b = m.ToArray();
		Put4(b, 0, (uint)b.Length);
		return b;
	}

	static void WriteS(BinaryWriter w, string s)
	{
		var b = Encoding.UTF8.GetBytes(s);
		w.Write((ushort)b.Length);
		w.Write(b);
	}

	public void Dispose()
	{
		listen.Stop();
		lock (conns)
			foreach (var s in conns)
				s.Dispose();
	}
}
