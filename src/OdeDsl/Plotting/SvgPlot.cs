using System.Globalization;
using System.Xml;

namespace OdeDsl.Plotting;

/// <summary>
/// One panel: axes with ticks and labels, a legend, and any mix of line, scatter and quiver (vector field) series.
/// Ranges are fitted to the data unless set. Render alone with <see cref="Save"/> or side by side with <see cref="SvgFigure"/>.
/// </summary>
public sealed class SvgPlot
{
    private static readonly string[] Palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];
    private readonly List<Series> _series = [];
    private (double Min, double Max)? _x, _y;

    public SvgPlot(string title, string xLabel = "", string yLabel = "", int width = 420, int height = 360)
    {
        ArgumentNullException.ThrowIfNull(title);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 120);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 100);
        Title = title; XLabel = xLabel ?? ""; YLabel = yLabel ?? ""; Width = width; Height = height;
    }

    public string Title { get; }
    public string XLabel { get; }
    public string YLabel { get; }
    public int Width { get; }
    public int Height { get; }

    public SvgPlot Line(string label, ReadOnlySpan<double> x, ReadOnlySpan<double> y, string? color = null, bool dashed = false) =>
        Add(new Series(SeriesKind.Line, label, Check(x, y), y.ToArray(), null, null, color, dashed));

    public SvgPlot Scatter(string label, ReadOnlySpan<double> x, ReadOnlySpan<double> y, string? color = null) =>
        Add(new Series(SeriesKind.Scatter, label, Check(x, y), y.ToArray(), null, null, color, false));

    /// <summary>Arrows (u, v) at points (x, y); lengths are normalised to the local grid spacing, as matplotlib's quiver does by default.</summary>
    public SvgPlot Quiver(string label, ReadOnlySpan<double> x, ReadOnlySpan<double> y, ReadOnlySpan<double> u, ReadOnlySpan<double> v, string? color = null)
    {
        var xs = Check(x, y);
        if (u.Length != x.Length || v.Length != x.Length)
            throw new ArgumentException($"quiver needs u and v of length {x.Length}; got {u.Length} and {v.Length}.");
        return Add(new Series(SeriesKind.Quiver, label, xs, y.ToArray(), u.ToArray(), v.ToArray(), color, false));
    }

    public SvgPlot XRange(double min, double max) { _x = CheckRange(min, max); return this; }
    public SvgPlot YRange(double min, double max) { _y = CheckRange(min, max); return this; }

    /// <summary>Writes a standalone SVG file atomically.</summary>
    public void Save(string path) => SvgFigure.Save(path, this);

    private SvgPlot Add(Series s) { _series.Add(s); return this; }

    private static double[] Check(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        if (x.Length != y.Length) throw new ArgumentException($"x has {x.Length} points, y has {y.Length}.");
        return x.ToArray();
    }

    private static (double, double) CheckRange(double min, double max) =>
        double.IsFinite(min) && double.IsFinite(max) && min < max ? (min, max)
            : throw new ArgumentException($"A range needs finite min < max; got [{min}, {max}].");

    internal void Render(XmlWriter w, double offsetX, double offsetY, int index)
    {
        const double left = 58, right = 14, top = 30, bottom = 44;
        double pw = Width - left - right, ph = Height - top - bottom;
        var (x0, x1) = _x ?? Fit(s => s.X);
        var (y0, y1) = _y ?? Fit(s => s.Y);
        double Sx(double v) => left + (v - x0) / (x1 - x0) * pw;
        double Sy(double v) => top + (1 - (v - y0) / (y1 - y0)) * ph;

        w.WriteStartElement("g");
        w.WriteAttributeString("class", "plot");
        w.WriteAttributeString("transform", $"translate({F(offsetX)},{F(offsetY)})");
        Text(w, Width / 2.0, 18, Title, "middle", "title", 14);

        string clip = $"clip{index}"; // unique within the document, and the output stays deterministic
        w.WriteStartElement("clipPath"); w.WriteAttributeString("id", clip);
        Rect(w, left, top, pw, ph, "none", null); w.WriteEndElement();

        // axes box and ticks
        Rect(w, left, top, pw, ph, "white", "#333");
        foreach (double t in Ticks(x0, x1))
        {
            double px = Sx(t);
            LineEl(w, px, top + ph, px, top + ph + 5, "#333", "tick");
            Text(w, px, top + ph + 18, Fmt(t), "middle", "tick-label", 11);
        }
        foreach (double t in Ticks(y0, y1))
        {
            double py = Sy(t);
            LineEl(w, left - 5, py, left, py, "#333", "tick");
            Text(w, left - 8, py + 4, Fmt(t), "end", "tick-label", 11);
        }
        Text(w, left + pw / 2, Height - 8, XLabel, "middle", "axis-label", 12);
        w.WriteStartElement("text");
        w.WriteAttributeString("class", "axis-label");
        w.WriteAttributeString("transform", $"translate(14,{F(top + ph / 2)}) rotate(-90)");
        w.WriteAttributeString("text-anchor", "middle");
        w.WriteAttributeString("font-size", "12");
        w.WriteAttributeString("font-family", "sans-serif");
        w.WriteString(YLabel);
        w.WriteEndElement();

        w.WriteStartElement("g");
        w.WriteAttributeString("clip-path", $"url(#{clip})");
        for (int i = 0; i < _series.Count; i++)
        {
            var s = _series[i];
            string color = s.Color ?? Palette[i % Palette.Length];
            switch (s.Kind)
            {
                case SeriesKind.Line:
                    w.WriteStartElement("polyline");
                    w.WriteAttributeString("class", "series-line");
                    w.WriteAttributeString("fill", "none");
                    w.WriteAttributeString("stroke", color);
                    w.WriteAttributeString("stroke-width", "1.5");
                    if (s.Dashed) w.WriteAttributeString("stroke-dasharray", "5,3");
                    var sb = new System.Text.StringBuilder(s.X.Length * 14);
                    for (int k = 0; k < s.X.Length; k++)
                        if (double.IsFinite(s.X[k]) && double.IsFinite(s.Y[k]))
                            sb.Append(F(Sx(s.X[k]))).Append(',').Append(F(Sy(s.Y[k]))).Append(' ');
                    w.WriteAttributeString("points", sb.ToString().TrimEnd());
                    w.WriteEndElement();
                    break;
                case SeriesKind.Scatter:
                    for (int k = 0; k < s.X.Length; k++)
                    {
                        if (!double.IsFinite(s.X[k]) || !double.IsFinite(s.Y[k])) continue;
                        w.WriteStartElement("circle");
                        w.WriteAttributeString("class", "series-point");
                        w.WriteAttributeString("cx", F(Sx(s.X[k])));
                        w.WriteAttributeString("cy", F(Sy(s.Y[k])));
                        w.WriteAttributeString("r", "2");
                        w.WriteAttributeString("fill", color);
                        w.WriteEndElement();
                    }
                    break;
                case SeriesKind.Quiver:
                    RenderQuiver(w, s, color, Sx, Sy, pw, ph);
                    break;
            }
        }
        w.WriteEndElement();
        RenderLegend(w, left + pw - 8, top + 8);
        w.WriteEndElement();
    }

    private static void RenderQuiver(XmlWriter w, Series s, string color, Func<double, double> sx, Func<double, double> sy, double pw, double ph)
    {
        // Longest arrow = the spacing of a √n × √n grid, so arrows do not overlap.
        double maxLen = 0;
        for (int k = 0; k < s.X.Length; k++) maxLen = Math.Max(maxLen, Math.Sqrt(s.U![k] * s.U[k] + s.V![k] * s.V[k]));
        double cell = 0.9 * Math.Min(pw, ph) / Math.Max(1, Math.Sqrt(s.X.Length));
        for (int k = 0; k < s.X.Length; k++)
        {
            double u = s.U![k], v = s.V![k];
            double len = Math.Sqrt(u * u + v * v);
            if (!(len > 0) || !double.IsFinite(len) || maxLen == 0) continue;
            double scale = cell / maxLen;
            double ax = sx(s.X[k]), ay = sy(s.Y[k]);
            double bx = ax + u * scale, by = ay - v * scale; // screen y grows downwards
            double dx = (bx - ax), dy = (by - ay), dl = Math.Sqrt(dx * dx + dy * dy);
            double head = Math.Min(4, 0.4 * dl);
            double ux = dx / dl, uy = dy / dl;
            w.WriteStartElement("path");
            w.WriteAttributeString("class", "series-arrow");
            w.WriteAttributeString("stroke", color);
            w.WriteAttributeString("fill", "none");
            w.WriteAttributeString("stroke-width", "1");
            w.WriteAttributeString("d",
                $"M{F(ax)},{F(ay)} L{F(bx)},{F(by)} M{F(bx - head * (ux - 0.5 * uy))},{F(by - head * (uy + 0.5 * ux))} L{F(bx)},{F(by)} L{F(bx - head * (ux + 0.5 * uy))},{F(by - head * (uy - 0.5 * ux))}");
            w.WriteEndElement();
        }
    }

    private void RenderLegend(XmlWriter w, double rightX, double y)
    {
        var labelled = _series.Select((s, i) => (s, i)).Where(p => p.s.Label.Length > 0).ToList();
        if (labelled.Count == 0) return;
        double boxW = 24 + 7 * labelled.Max(p => p.s.Label.Length), boxH = 6 + 16 * labelled.Count;
        w.WriteStartElement("g");
        w.WriteAttributeString("class", "legend");
        Rect(w, rightX - boxW, y, boxW, boxH, "white", "#999");
        for (int j = 0; j < labelled.Count; j++)
        {
            var (s, i) = labelled[j];
            string color = s.Color ?? Palette[i % Palette.Length];
            double ly = y + 13 + 16 * j;
            LineEl(w, rightX - boxW + 4, ly - 4, rightX - boxW + 18, ly - 4, color, "legend-swatch");
            Text(w, rightX - boxW + 22, ly, s.Label, "start", "legend-label", 11);
        }
        w.WriteEndElement();
    }

    private (double, double) Fit(Func<Series, double[]> pos)
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var s in _series)
            foreach (double v in pos(s))
                if (double.IsFinite(v)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        if (!double.IsFinite(lo)) return (0, 1);
        if (hi - lo < 1e-12) { lo -= 0.5; hi += 0.5; }
        double pad = 0.04 * (hi - lo);
        return (lo - pad, hi + pad);
    }

    /// <summary>"Nice" ticks: a step of 1, 2, 5 or 10 × 10ᵏ giving about four to seven ticks inside [lo, hi].</summary>
    internal static IEnumerable<double> Ticks(double lo, double hi)
    {
        double raw = (hi - lo) / 5, mag = Math.Pow(10, Math.Floor(Math.Log10(raw))), n = raw / mag;
        double step = (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * mag;
        // integer multiples of the step, so no rounding drift accumulates along the axis
        for (long k = (long)Math.Ceiling(lo / step); k * step <= hi + 1e-9 * step; k++)
            yield return k * step;
    }

    private static string Fmt(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
    internal static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    private static void Rect(XmlWriter w, double x, double y, double width, double height, string fill, string? stroke)
    {
        w.WriteStartElement("rect");
        w.WriteAttributeString("x", F(x)); w.WriteAttributeString("y", F(y));
        w.WriteAttributeString("width", F(width)); w.WriteAttributeString("height", F(height));
        w.WriteAttributeString("fill", fill);
        if (stroke is not null) w.WriteAttributeString("stroke", stroke);
        w.WriteEndElement();
    }

    private static void LineEl(XmlWriter w, double x1, double y1, double x2, double y2, string stroke, string cls)
    {
        w.WriteStartElement("line");
        w.WriteAttributeString("class", cls);
        w.WriteAttributeString("x1", F(x1)); w.WriteAttributeString("y1", F(y1));
        w.WriteAttributeString("x2", F(x2)); w.WriteAttributeString("y2", F(y2));
        w.WriteAttributeString("stroke", stroke);
        w.WriteAttributeString("stroke-width", "1.5");
        w.WriteEndElement();
    }

    private static void Text(XmlWriter w, double x, double y, string text, string anchor, string cls, int size)
    {
        w.WriteStartElement("text");
        w.WriteAttributeString("class", cls);
        w.WriteAttributeString("x", F(x)); w.WriteAttributeString("y", F(y));
        w.WriteAttributeString("text-anchor", anchor);
        w.WriteAttributeString("font-size", size.ToString(CultureInfo.InvariantCulture));
        w.WriteAttributeString("font-family", "sans-serif");
        w.WriteString(text);
        w.WriteEndElement();
    }

    private enum SeriesKind { Line, Scatter, Quiver }

    private sealed record Series(SeriesKind Kind, string Label, double[] X, double[] Y, double[]? U, double[]? V, string? Color, bool Dashed);
}
