using System.Text.RegularExpressions;

namespace Pager.Bench;

/// What the fuzzer found: each kind once (numbers aside), with how many
/// times it came and the first input that showed it. A fatal finding
/// (pagerd gone, a hang) ends the run: nothing after it would mean much.
sealed partial class FuzzFindings
{
	public sealed class Finding(string boundary, string what, string input)
	{
		public readonly string Boundary = boundary, What = what, Input = input;
		public int Count = 1;
	}

	readonly Dictionary<string, Finding> seen = [];
	public readonly List<Finding> All = [];
	public bool Stop { get; private set; }

	public void Add(string boundary, string what, string input)
	{
		what = Show(what);
		var key = boundary + ": " + Digits().Replace(what, "N");
		lock (seen)
		{
			if (seen.TryGetValue(key, out var f))
			{
				f.Count++;
				return;
			}
			var n = seen[key] = new Finding(boundary, what, input);
			All.Add(n);
			Console.WriteLine($"fuzz: finding: {boundary}: {what}{(input.Length > 0 ? $"\n\tinput: {Show(input)}" : "")}");
		}
	}

	public void Fatal(string boundary, string what, string input = "")
	{
		Add(boundary, what, input);
		Stop = true;
	}

	/// An input as one printable line: control bytes as \xNN, clipped.
	public static string Show(string s)
	{
		var b = new System.Text.StringBuilder();
		foreach (char c in s.Length > 300 ? s[..300] : s)
			b.Append(c is < ' ' or '\x7f' ? $"\\x{(int)c:x2}" : c.ToString());
		return s.Length > 300 ? b + $"... ({s.Length} chars)" : b.ToString();
	}

	[GeneratedRegex("[0-9]+")]
	private static partial Regex Digits();
}
