using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using OdeDsl.Tensors;

namespace OdeDsl.Bench.Micro;

/// <summary>tanh over a hidden layer's activations (batch × 50 for the spiral field), float and double:
/// Activations.Tanh (FastTanh on Vector256) against TensorPrimitives.Tanh.</summary>
[Config(typeof(MicroConfig))]
public class ActivationBenchmarks
{
    [Params(4096, 51200)]
    public int Length { get; set; }

    private float[] _x = [], _y = [];
    private double[] _xd = [], _yd = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _x = Enumerable.Range(0, Length).Select(_ => (float)(rng.NextDouble() * 6 - 3)).ToArray();
        _y = new float[Length];
        _xd = _x.Select(v => (double)v).ToArray();
        _yd = new double[Length];
    }

    [Benchmark(Baseline = true)]
    public void TensorPrimitivesTanh() => TensorPrimitives.Tanh(_x, _y);

    [Benchmark]
    public void ActivationsTanh() => Activations.Tanh<float>(_x, _y);

    [Benchmark]
    public void TensorPrimitivesTanhDouble() => TensorPrimitives.Tanh(_xd, _yd);

    [Benchmark]
    public void ActivationsTanhDouble() => Activations.Tanh<double>(_xd, _yd);
}
