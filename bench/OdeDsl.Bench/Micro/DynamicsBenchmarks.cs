using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;

namespace OdeDsl.Bench.Micro;

/// <summary>
/// Batched Evaluate, VectorJacobianProduct and EvaluateWithDivergence of a system (float) at batch 1, 64 and 1024.
/// GFLOP/s counts model FLOPs: F = 2·Σ in·out over the dense layers per sample, ×1 for Evaluate, ×3 for the VJP
/// (recomputed forward, input gradient, weight gradient) and ×(1 + state size) for the exact divergence (one
/// forward-mode tangent per state dimension). Element-wise work (tanh, bias) is not counted.
/// </summary>
[Config(typeof(MicroConfig))]
[GenericTypeArguments(typeof(BenchSpiralField.Dynamics))]
[GenericTypeArguments(typeof(HandSpiralField))]
[GenericTypeArguments(typeof(BenchCnfField.Dynamics))]
[GenericTypeArguments(typeof(HandCnfField))]
public class DynamicsBenchmarks<TDyn> where TDyn : IOdeDynamics<TDyn>
{
    [Params(1, 64, 1024)]
    public int Batch { get; set; }

    private float[] _t = [], _h = [], _theta = [], _dh = [], _cotangent = [], _gradH = [], _gradTheta = [], _gradT = [], _div = [], _ws = [];

    [GlobalSetup]
    public void Setup()
    {
        DynamicsChecks.Verify<TDyn>();
        int d = TDyn.StateSize, n = Batch * d;
        var rng = new Random(1);
        float[] R(int len) => Enumerable.Range(0, len).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        _t = R(Batch); _h = R(n); _cotangent = R(n);
        _theta = TDyn.Layout.Initialize<float>(seed: 1);
        _dh = new float[n]; _gradH = new float[n]; _gradT = new float[Batch]; _div = new float[Batch];
        _gradTheta = new float[TDyn.ParameterCount];
        _ws = new float[TDyn.WorkspaceLength(Batch)];
    }

    [Benchmark]
    public void Evaluate() => TDyn.Evaluate<float>(_t, _h, _theta, _dh, Batch, _ws);

    [Benchmark]
    public void VectorJacobianProduct() =>
        TDyn.VectorJacobianProduct<float>(_t, _h, _theta, _cotangent, _gradH, _gradTheta, _gradT, Batch, _ws);

    [Benchmark]
    public void EvaluateWithDivergence() => TDyn.EvaluateWithDivergence<float>(_t, _h, _theta, _dh, _div, Batch, _ws);

    public static double FlopsPerOperation(BenchmarkCase c)
    {
        int batch = (int)c.Parameters["Batch"];
        double perSample = ModelFlops.PerSample(typeof(TDyn));
        double factor = c.Descriptor.WorkloadMethod.Name switch
        {
            nameof(VectorJacobianProduct) => 3,
            nameof(EvaluateWithDivergence) => 1 + TDyn.StateSize,
            _ => 1,
        };
        return batch * perSample * factor;
    }
}

/// <summary>Dense-layer FLOPs of one evaluation per sample, 2·Σ in·out, for the benchmarked systems.</summary>
internal static class ModelFlops
{
    public static double PerSample(Type system) =>
        system == typeof(HandSpiralField) || system == typeof(BenchSpiralField.Dynamics) ? 2.0 * (2 * 50 + 50 * 2)
        : system == typeof(HandCnfField) || system == typeof(BenchCnfField.Dynamics) ? 2.0 * (3 * 64 + 65 * 64 + 65 * 2)
        : double.NaN;
}
