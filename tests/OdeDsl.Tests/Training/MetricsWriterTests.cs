using System.Text.Json;
using OdeDsl.Training;

namespace OdeDsl.Tests.Training;

public sealed class MetricsWriterTests
{
    [Fact]
    public void WritesOneJsonObjectPerLineWithTheDocumentedKeys()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("odedsl-metrics-").FullName, "m.jsonl");
        using (var w = new MetricsWriter(path))
        {
            w.Write(new TrainingMetrics(1, 0.5, 20, 126, 0.01, 1e-3));
            w.Write(new TrainingMetrics(2, double.NaN, 26, 132, 0.02, 1e-3), ("batch_loss", 0.25));
        }
        string[] lines = File.ReadAllLines(path);
        Assert.Equal(2, lines.Length);
        using var first = JsonDocument.Parse(lines[0]);
        var r = first.RootElement;
        Assert.Equal(1, r.GetProperty("iteration").GetInt64());
        Assert.Equal(0.5, r.GetProperty("loss").GetDouble());
        Assert.Equal(20, r.GetProperty("nfe_forward").GetInt64());
        Assert.Equal(126, r.GetProperty("nfe_backward").GetInt64());
        Assert.Equal(0.01, r.GetProperty("seconds").GetDouble());
        Assert.Equal(1e-3, r.GetProperty("lr").GetDouble());
        using var second = JsonDocument.Parse(lines[1]);
        Assert.Equal(JsonValueKind.Null, second.RootElement.GetProperty("loss").ValueKind);
        Assert.Equal(0.25, second.RootElement.GetProperty("batch_loss").GetDouble());
        Directory.Delete(Path.GetDirectoryName(path)!, true);
    }
}
