using System.Numerics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using OdeDsl.Tensors;

namespace OdeDsl.Bench.Micro;

/// <summary>
/// GEMM throughput at the neural-ODE sizes, written M×K×N (op(A) is M×K, op(B) is K×N): a batch of 1024 through a
/// 64→64 layer, 256³, GEMV, and the spiral field's 2→50 and 50→2 layers at batch 1024. Layout "NT" is a Linear
/// layer's forward pass (X·Wᵀ with W stored [out, in]); "NN" its input gradient; "TN" its weight gradient.
/// </summary>
[Config(typeof(MicroConfig))]
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
public class GemmBenchmarks<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [Params("1024x64x64", "256x256x256", "1x64x64", "1024x2x50", "1024x50x2")]
    public string Shape { get; set; } = "";

    [Params("NN", "NT", "TN")]
    public string Layout { get; set; } = "";

    private T[] _a = [], _b = [], _c = [];
    private int _m, _n, _k;

    [GlobalSetup]
    public void Setup()
    {
        (_m, _k, _n) = Parse(Shape);
        var rng = new Random(1);
        _a = Enumerable.Range(0, _m * _k).Select(_ => T.CreateChecked(rng.NextDouble() - 0.5)).ToArray();
        _b = Enumerable.Range(0, _k * _n).Select(_ => T.CreateChecked(rng.NextDouble() - 0.5)).ToArray();
        _c = new T[_m * _n];
    }

    [Benchmark]
    public void Multiply()
    {
        bool ta = Layout[0] == 'T', tb = Layout[1] == 'T';
        Gemm.Multiply(ta, tb, _m, _n, _k, T.One, _a, ta ? _m : _k, _b, tb ? _k : _n, T.Zero, _c, _n);
    }

    public static double FlopsPerOperation(BenchmarkCase c)
    {
        var (m, k, n) = Parse((string)c.Parameters["Shape"]);
        return 2.0 * m * n * k;
    }

    private static (int M, int K, int N) Parse(string shape)
    {
        var d = shape.Split('x').Select(int.Parse).ToArray();
        return (d[0], d[1], d[2]);
    }
}
