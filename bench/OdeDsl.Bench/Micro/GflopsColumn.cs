using System.Reflection;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace OdeDsl.Bench.Micro;

/// <summary>
/// Adds a GFLOP/s column: the benchmark type declares <c>public static double FlopsPerOperation(ParameterInstances)</c>
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
        double flops = (double)method.Invoke(null, [benchmarkCase.Parameters])!;
        return (flops / mean.Value).ToString("F1"); // flops per ns = GFLOP/s
    }
}

/// <summary>Config for the micro benchmarks: defaults plus the GFLOP/s column and allocation counts.</summary>
public sealed class MicroConfig : ManualConfig
{
    public MicroConfig()
    {
        AddColumn(new GflopsColumn());
        AddDiagnoser(BenchmarkDotNet.Diagnosers.MemoryDiagnoser.Default);
    }
}
