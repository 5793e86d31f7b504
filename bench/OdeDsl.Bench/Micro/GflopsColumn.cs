using System.Reflection;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace OdeDsl.Bench.Micro;

/// <summary>
/// Adds a GFLOP/s column: the benchmark type declares <c>public static double FlopsPerOperation(BenchmarkCase)</c>
/// (floating-point operations of one invocation, a multiply-add counting as two), divided by the measured mean.
/// </summary>
public sealed class GflopsColumn : IColumn
{
    public string Id => nameof(GflopsColumn);
    public string ColumnName => "GFLOP/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Floating-point operations per second (multiply-add = 2), from the mean time";
    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
        var method = benchmarkCase.Descriptor.Type.GetMethod("FlopsPerOperation", BindingFlags.Public | BindingFlags.Static);
        if (mean is null || method is null) return "-";
        double flops = (double)method.Invoke(null, [benchmarkCase])!;
        return (flops / mean.Value).ToString("F1"); // flops per ns = GFLOP/s
    }
}

/// <summary>Adds an ns/sample column: mean time divided by the benchmark's <c>Batch</c> parameter.</summary>
public sealed class NsPerSampleColumn : IColumn
{
    public string Id => nameof(NsPerSampleColumn);
    public string ColumnName => "ns/sample";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 1;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Mean time divided by the batch size";
    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
        var batch = benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == "Batch")?.Value;
        return mean is null || batch is not int b ? "-" : (mean.Value / b).ToString("F1");
    }
}

/// <summary>Config for the micro benchmarks: defaults plus the GFLOP/s column and allocation counts.</summary>
public sealed class MicroConfig : ManualConfig
{
    public MicroConfig()
    {
        AddColumn(new GflopsColumn(), new NsPerSampleColumn());
        AddDiagnoser(BenchmarkDotNet.Diagnosers.MemoryDiagnoser.Default);
    }
}
