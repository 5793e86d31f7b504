using System.Globalization;
using System.Text;

namespace Cnf;

/// <summary>Panels of 2-D heat maps (densities on a grid) and scatter plots, written as one SVG.</summary>
public sealed class Figures
{
    private readonly List<(string Title, Action<StringBuilder, double, double> Draw)> _panels = [];
    private const int Size = 260, Pad = 24;

    public double Lo { get; init; } = -4;
    public double Hi { get; init; } = 4;

    /// <summary>Densities p[i·cells + j] at x = lo + (i + ½)·w, y = lo + (j + ½)·w, shaded by p / max p.</summary>
    public Figures Heat(string title, double[] p, int cells)
    {
        double max = p.Max();
        _panels.Add((title, (sb, ox, oy) =>
        {
            double cw = (double)Size / cells;
            for (int i = 0; i < cells; i++)
                for (int j = 0; j < cells; j++)
                {
                    double v = max > 0 ? p[i * cells + j] / max : 0;
                    if (v < 0.01) continue;
                    int shade = (int)(255 * (1 - v));
                    sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{ox + i * cw:F1}\" y=\"{oy + Size - (j + 1) * cw:F1}\" width=\"{cw + 0.3:F1}\" height=\"{cw + 0.3:F1}\" fill=\"rgb({shade},{shade},255)\"/>");
                }
        }));
        return this;
    }

    public Figures Scatter(string title, double[] pts, string color = "#c0392b")
    {
        _panels.Add((title, (sb, ox, oy) =>
        {
            for (int b = 0; b < pts.Length / 2; b++)
            {
                double x = (pts[2 * b] - Lo) / (Hi - Lo) * Size, y = (pts[2 * b + 1] - Lo) / (Hi - Lo) * Size;
                if (x < 0 || x > Size || y < 0 || y > Size) continue;
                sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{ox + x:F1}\" cy=\"{oy + Size - y:F1}\" r=\"1.1\" fill=\"{color}\" fill-opacity=\"0.6\"/>");
            }
        }));
        return this;
    }

    public void Save(string path)
    {
        int cols = Math.Min(4, _panels.Count), rows = (_panels.Count + cols - 1) / cols;
        int w = cols * (Size + Pad) + Pad, h = rows * (Size + 2 * Pad) + Pad;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">");
        sb.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
        for (int k = 0; k < _panels.Count; k++)
        {
            double ox = Pad + k % cols * (Size + Pad), oy = 2 * Pad + k / cols * (Size + 2 * Pad);
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{ox}\" y=\"{oy - 6}\">{System.Security.SecurityElement.Escape(_panels[k].Title)}</text>");
            sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{ox}\" y=\"{oy}\" width=\"{Size}\" height=\"{Size}\" fill=\"none\" stroke=\"#888\"/>");
            _panels[k].Draw(sb, ox, oy);
        }
        sb.Append("</svg>");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, sb.ToString());
    }

    /// <summary>Cell centres of a cells × cells grid over [lo, hi]², [cells², 2].</summary>
    public static double[] Grid(double lo, double hi, int cells)
    {
        var g = new double[2 * cells * cells];
        double w = (hi - lo) / cells;
        for (int i = 0; i < cells; i++)
            for (int j = 0; j < cells; j++)
            {
                g[2 * (i * cells + j)] = lo + (i + 0.5) * w;
                g[2 * (i * cells + j) + 1] = lo + (j + 0.5) * w;
            }
        return g;
    }
}
