using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using OdeDsl.Tensors;

namespace OdeDsl.Bench.Micro;

/// <summary>tanh over a hidden layer's activations (batch × 50 for the spiral field), float and double:
/// Activations.Tanh (FastTanh512 where Vector512 is accelerated, else FastTanh) against TensorPrimitives.Tanh, each
/// width's kernel called directly (FastTanh512 runs in software, slowly, where Vector512 is not accelerated), and the
/// backward rule gradX += gradY·(1 − y²).</summary>
[Config(typeof(MicroConfig))]
[MinColumn]
public class ActivationBenchmarks
{
    [Params(4096, 51200)]
    public int Length { get; set; }

    private float[] _x = [], _y = [], _g = [];
    private double[] _xd = [], _yd = [], _gd = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _x = Enumerable.Range(0, Length).Select(_ => (float)(rng.NextDouble() * 6 - 3)).ToArray();
        _y = new float[Length];
        _xd = _x.Select(v => (double)v).ToArray();
        _yd = new double[Length];
        _g = Enumerable.Range(0, Length).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        _gd = _g.Select(v => (double)v).ToArray();
    }

    [Benchmark(Baseline = true)]
    public void TensorPrimitivesTanh() => TensorPrimitives.Tanh(_x, _y);

    [Benchmark]
    public void ActivationsTanh() => Activations.Tanh<float>(_x, _y);

    [Benchmark]
    public void TensorPrimitivesTanhDouble() => TensorPrimitives.Tanh(_xd, _yd);

    [Benchmark]
    public void ActivationsTanhDouble() => Activations.Tanh<double>(_xd, _yd);

    [Benchmark]
    public void FastTanh256Float() => FastTanh.Apply(_x, _y);

    [Benchmark]
    public void FastTanh512Float() => FastTanh512.Apply(_x, _y);

    [Benchmark]
    public void FastTanh256Double() => FastTanh.Apply(_xd, _yd);

    [Benchmark]
    public void FastTanh512Double() => FastTanh512.Apply(_xd, _yd);

    // _g (uniform on [−1, 1]) stands in for y = tanh(x), _x for gradY; _y accumulates.
    [Benchmark]
    public void TanhBackwardAdd() => Activations.TanhBackwardAdd<float>(_g, _x, _y);

    [Benchmark]
    public void TanhBackwardAddDouble() => Activations.TanhBackwardAdd<double>(_gd, _xd, _yd);
}
