using System.Text;
using System.Xml;
using OdeDsl.Training;

namespace OdeDsl.Plotting;

/// <summary>Lays panels out left to right in one SVG document (ode_demo's figure: trajectories, phase portrait, learned field).</summary>
public static class SvgFigure
{
    public static string ToSvg(params SvgPlot[] panels)
    {
        using var sw = new Utf8StringWriter();
        using (var w = XmlWriter.Create(sw, new XmlWriterSettings { Indent = false, Encoding = Encoding.UTF8 }))
            Write(w, panels);
        return sw.ToString();
    }

    /// <summary>Writes the panels to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    public static void Save(string path, params SvgPlot[] panels)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Validate(panels);
        AtomicFile.Write(path, stream =>
        {
            using var w = XmlWriter.Create(stream, new XmlWriterSettings { Indent = false, Encoding = new UTF8Encoding(false) });
            Write(w, panels);
        });
    }

    private static void Validate(SvgPlot[] panels)
    {
        ArgumentNullException.ThrowIfNull(panels);
        if (panels.Length == 0 || Array.Exists(panels, p => p is null))
            throw new ArgumentException("A figure needs at least one panel and no null panels.", nameof(panels));
    }

    private static void Write(XmlWriter w, SvgPlot[] panels)
    {
        Validate(panels);
        int width = panels.Sum(p => p.Width), height = panels.Max(p => p.Height);
        const string ns = "http://www.w3.org/2000/svg";
        w.WriteStartDocument();
        w.WriteStartElement("svg", ns);
        w.WriteAttributeString("width", width.ToString(System.Globalization.CultureInfo.InvariantCulture));
        w.WriteAttributeString("height", height.ToString(System.Globalization.CultureInfo.InvariantCulture));
        w.WriteAttributeString("viewBox", $"0 0 {width} {height}");
        double x = 0;
        for (int i = 0; i < panels.Length; i++)
        {
            panels[i].Render(w, x, 0, i);
            x += panels[i].Width;
        }
        w.WriteEndElement();
        w.WriteEndDocument();
    }

    private sealed class Utf8StringWriter : StringWriter
    {
        public override Encoding Encoding => Encoding.UTF8;
    }
}
