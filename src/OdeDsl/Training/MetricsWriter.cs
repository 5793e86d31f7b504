using System.Text.Json;

namespace OdeDsl.Training;

/// <summary>One logged iteration.</summary>
public readonly record struct TrainingMetrics(long Iteration, double Loss, long NfeForward, long NfeBackward, double Seconds, double LearningRate);

/// <summary>
/// Appends one JSON object per line (JSON Lines) with the keys iteration, loss, nfe_forward, nfe_backward, seconds, lr,
/// plus any extra numeric fields; flushed after each line so a crashed run keeps what it logged.
/// </summary>
public sealed class MetricsWriter : IDisposable
{
    private readonly FileStream _stream;
    private readonly Utf8JsonWriter _json;
    private static readonly byte[] NewLine = "\n"u8.ToArray();

    public MetricsWriter(string path, bool append = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        Path = path;
        _stream = new FileStream(path, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.Read);
        _json = new Utf8JsonWriter(_stream);
    }

    public string Path { get; }

    public void Write(in TrainingMetrics m, params ReadOnlySpan<(string Name, double Value)> extra)
    {
        _json.Reset(_stream);
        _json.WriteStartObject();
        _json.WriteNumber("iteration", m.Iteration);
        WriteDouble("loss", m.Loss);
        _json.WriteNumber("nfe_forward", m.NfeForward);
        _json.WriteNumber("nfe_backward", m.NfeBackward);
        WriteDouble("seconds", m.Seconds);
        WriteDouble("lr", m.LearningRate);
        foreach (var (name, value) in extra) WriteDouble(name, value);
        _json.WriteEndObject();
        _json.Flush();
        _stream.Write(NewLine);
        _stream.Flush();
    }

    // JSON has no NaN/Infinity: a diverged loss is written as null rather than breaking the file.
    private void WriteDouble(string name, double v)
    {
        if (double.IsFinite(v)) _json.WriteNumber(name, v);
        else _json.WriteNull(name);
    }

    public void Dispose()
    {
        _json.Dispose();
        _stream.Dispose();
    }
}
