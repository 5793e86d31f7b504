using System.Xml.Linq;
using OdeDsl.Plotting;

namespace OdeDsl.Tests.Plotting;

public sealed class SvgPlotTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static SvgPlot Sample()
    {
        double[] t = [0, 1, 2, 3], y = [0, 1, 4, 9];
        return new SvgPlot("squares <&>", "t", "y").Line("true", t, y).Scatter("samples", t, y).Line("fit", t, [0, 1.1, 3.9, 9.2], dashed: true);
    }

    [Fact]
    public void IsWellFormedSvgWithAxesTicksSeriesAndLegend()
    {
        var doc = XDocument.Parse(SvgFigure.ToSvg(Sample()));
        Assert.Equal(Svg + "svg", doc.Root!.Name);
        var all = doc.Descendants().ToList();
        Assert.Equal(2, all.Count(e => e.Name == Svg + "polyline"));
        Assert.Equal(4, all.Count(e => e.Name == Svg + "circle"));
        Assert.True(all.Count(e => (string?)e.Attribute("class") == "tick") >= 6);
        Assert.Contains(all, e => e.Name == Svg + "text" && e.Value == "squares <&>");
        var legend = all.Single(e => (string?)e.Attribute("class") == "legend");
        Assert.Equal(["true", "samples", "fit"], legend.Descendants(Svg + "text").Select(e => e.Value));
        Assert.All(all.Where(e => e.Name == Svg + "polyline"), p => Assert.Equal(4, ((string)p.Attribute("points")!).Split(' ').Length));
    }

    [Fact]
    public void QuiverDrawsOneArrowPerNonZeroVectorAndPanelsSitSideBySide()
    {
        double[] x = [0, 1, 0, 1], y = [0, 0, 1, 1], u = [1, 0, -1, 0], v = [0, 1, 0, 0];
        var field = new SvgPlot("field", width: 300).Quiver("", x, y, u, v);
        var doc = XDocument.Parse(SvgFigure.ToSvg(Sample(), field));
        Assert.Equal(3, doc.Descendants(Svg + "path").Count());
        Assert.Equal(2, doc.Descendants(Svg + "g").Count(g => (string?)g.Attribute("class") == "plot"));
        Assert.Equal("720", (string?)doc.Root!.Attribute("width"));
    }

    [Fact]
    public void TicksAreNiceNumbersInsideTheRange()
    {
        Assert.Equal([0, 0.5, 1, 1.5, 2], SvgPlot.Ticks(-0.1, 2.1).ToArray());
        Assert.Equal([-20, -10, 0, 10, 20], SvgPlot.Ticks(-25, 25).ToArray());
    }

    [Fact]
    public void SaveWritesAtomicallyAndOverwrites()
    {
        string dir = Directory.CreateTempSubdirectory("odedsl-svg-").FullName;
        string path = Path.Combine(dir, "nested", "plot.svg");
        Sample().Save(path);
        new SvgPlot("second").Line("", [0.0, 1.0], [1.0, 0.0]).Save(path);
        Assert.Equal([path], Directory.GetFiles(Path.GetDirectoryName(path)!));
        Assert.Contains(XDocument.Load(path).Descendants(Svg + "text"), e => e.Value == "second");
        Directory.Delete(dir, true);
    }

    [Fact]
    public void RejectsMismatchedLengthsAndEmptyFigures()
    {
        Assert.Throws<ArgumentException>(() => new SvgPlot("x").Line("a", [1.0, 2.0], [1.0]));
        Assert.Throws<ArgumentException>(() => new SvgPlot("x").Quiver("a", [1.0], [1.0], [1.0, 2.0], [1.0]));
        Assert.Throws<ArgumentException>(() => SvgFigure.ToSvg());
        Assert.Throws<ArgumentException>(() => new SvgPlot("x").XRange(1, 1));
    }
}
