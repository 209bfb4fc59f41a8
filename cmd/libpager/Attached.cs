using System.Runtime.InteropServices;
using Pager.Client;

namespace Pager.Cmd;

/// A map a program attached through libpager: the C# client's Mapping,
/// and the note function the program registered for it.
sealed unsafe class Attached
{
	public readonly Mapping Map;
	delegate* unmanaged<nint, byte*, void> fn;
	nint arg;
	bool detached;
	readonly object gate = new();

	public Attached(Mapping m)
	{
		Map = m;
		m.Note += text => Notes.Post(this, text);
	}

	public void Notify(delegate* unmanaged<nint, byte*, void> f, nint a)
	{
		lock (gate)
		{
			fn = f;
			arg = a;
		}
	}

	/// On the notes thread: calls the program's function, unless the map
	/// was detached meanwhile. Detach waits for a call under way.
	public void Deliver(string text)
	{
		lock (gate)
		{
			if (detached || fn == null)
				return;
			var s = (byte*)Marshal.StringToCoTaskMemUTF8(text);
			try
			{
				fn(arg, s);
			}
			finally
			{
				Marshal.FreeCoTaskMem((nint)s);
			}
		}
	}

	public void Detach()
	{
		lock (gate)
			detached = true;
		Map.Dispose();
	}
}
