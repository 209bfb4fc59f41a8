using System.Globalization;
using System.Text;

namespace Pager.Bench;

/// results.svg: for each workload, each path's time per fault over the C
/// handler's, as bars on a log scale with the C handler at 1.
static class Chart
{
	static readonly (Sys S, string Color)[] Bars =
	[
		(Sys.Mmap, "#999999"), (Sys.Read, "#cccccc"), (Sys.C2, "#990099"), (Sys.Builtin, "#3366cc"), (Sys.Pipeline, "#ff9900"), (Sys.Direct, "#dc3912"), (Sys.Awk, "#109618"),
		(Sys.Huge, "#0099c6"),
	];
	const double Lo = 0.01, Hi = 100;
	const int Left = 250, Plot = 560, Bar = 11, Top = 60;

	public static string Svg(List<CellResult> cells)
	{
		var rows = cells.Select(c => (c, Bars.Where(b => c.Has(b.S)).ToList())).ToList();
		int height = Top + rows.Sum(r => r.Item2.Count * Bar + 14) + 40;
		var b = new StringBuilder();
		b.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Left + Plot + 90}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n");
		b.Append($"<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
		b.Append($"<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">Time per fault relative to the minimal C handler (log scale; left of 1 is faster)</text>\n");
		Legend(b);
		Grid(b, height);
		int y = Top;
		foreach (var (c, bars) in rows)
		{
			b.Append($"<text x=\"{Left - 6}\" y=\"{y + bars.Count * Bar / 2 + 4}\" text-anchor=\"end\">{Esc(c.Cell.Name)}</text>\n");
			foreach (var (s, color) in bars)
			{
				double v = c.VsC(s);
				if (!double.IsNaN(v))
				{
					double x0 = X(Lo), x1 = X(Math.Clamp(v, Lo, Hi));
					b.Append($"<rect x=\"{N(x0)}\" y=\"{y}\" width=\"{N(x1 - x0)}\" height=\"{Bar - 2}\" fill=\"{color}\"><title>{Targets.Name(s)}: {N(v)}×</title></rect>\n");
					b.Append($"<text x=\"{N(x1 + 3)}\" y=\"{y + Bar - 3}\" font-size=\"9\">{v.ToString(v < 0.1 ? "0.000" : "0.00", CultureInfo.InvariantCulture)}</text>\n");
				}
				y += Bar;
			}
			y += 14;
		}
		b.Append("</svg>\n");
		return b.ToString();
	}

	static void Legend(StringBuilder b)
	{
		int x = 10;
		foreach (var (s, color) in Bars)
		{
			b.Append($"<rect x=\"{x}\" y=\"32\" width=\"10\" height=\"10\" fill=\"{color}\"/><text x=\"{x + 14}\" y=\"41\">{Targets.Name(s)}</text>\n");
			x += 24 + Targets.Name(s).Length * 6;
		}
		b.Append($"<line x1=\"{x}\" y1=\"37\" x2=\"{x + 14}\" y2=\"37\" stroke=\"red\" stroke-width=\"2\"/><text x=\"{x + 18}\" y=\"41\">C handler = 1</text>\n");
	}

	static void Grid(StringBuilder b, int height)
	{
		foreach (var g in new[] { 0.01, 0.1, 0.5, 1, 2, 3, 10, 100 })
		{
			var stroke = g == 1 ? "stroke=\"red\" stroke-width=\"2\"" : "stroke=\"#dddddd\"";
			b.Append($"<line x1=\"{N(X(g))}\" y1=\"{Top - 6}\" x2=\"{N(X(g))}\" y2=\"{height - 30}\" {stroke}/>\n");
			b.Append($"<text x=\"{N(X(g))}\" y=\"{height - 16}\" text-anchor=\"middle\">{g.ToString(CultureInfo.InvariantCulture)}×</text>\n");
		}
	}

	static double X(double v) => Left + Plot * (Math.Log10(v) - Math.Log10(Lo)) / (Math.Log10(Hi) - Math.Log10(Lo));
	static string N(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
	static string Esc(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
