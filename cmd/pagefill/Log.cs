using System.Runtime.CompilerServices;

namespace Pager.Pagefill;

/// pagefill's standard error.
sealed class Log(bool verbose)
{
	public bool On => verbose;

	/// Says s with -v. Without -v the text is never built: the calls are
	/// on the path of every request.
	public void Verbose([InterpolatedStringHandlerArgument("")] ref VerboseText s)
	{
		if (verbose)
			Say(s.Text());
	}

	public void Say(string s) => Console.Error.Write($"pagefill: {s}\n");

	[InterpolatedStringHandler]
	public ref struct VerboseText
	{
		DefaultInterpolatedStringHandler h;

		public VerboseText(int literalLength, int formattedCount, Log log, out bool on)
		{
			on = log.On;
			h = on ? new(literalLength, formattedCount) : default;
		}

		public void AppendLiteral(string s) => h.AppendLiteral(s);

		public void AppendFormatted<T>(T v) => h.AppendFormatted(v);

		public string Text() => h.ToStringAndClear();
	}
}
