using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;

namespace OdeDsl.Bench.Micro;

/// <summary>
/// The eager reference: the [OdeDynamics] methods run as written, one sample at a time on Vec/Mat (each operator
/// allocates its result), over a batch. Only Evaluate exists eagerly; the derivatives exist only as generated code.
/// </summary>
[Config(typeof(MicroConfig))]
public class EagerBenchmarks
{
    [Params(1, 64, 1024)]
    public int Batch { get; set; }

    private float[] _t = [], _h = [], _dh = [];
    private Mat _sW1, _sW2, _cW1, _cW2, _cW3;
    private Vec _sb1, _sb2, _cb1, _cb2, _cb3;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        float[] R(int len) => Enumerable.Range(0, len).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        _t = R(Batch); _h = R(2 * Batch); _dh = new float[2 * Batch];
        var s = BenchSpiralField.Dynamics.Layout.Initialize<float>(seed: 1);
        (_sW1, _sb1, _sW2, _sb2) = (new Mat(50, 2, s[..100]), new Vec(s[100..150]), new Mat(2, 50, s[150..250]), new Vec(s[250..252]));
        var c = BenchCnfField.Dynamics.Layout.Initialize<float>(seed: 1);
        int o = 0;
        Mat M(int r, int k) { var m = new Mat(r, k, c[o..(o + r * k)]); o += r * k; return m; }
        Vec V(int n) { var v = new Vec(c[o..(o + n)]); o += n; return v; }
        _cW1 = M(64, 3); _cb1 = V(64); _cW2 = M(64, 65); _cb2 = V(64); _cW3 = M(2, 65); _cb3 = V(2);
    }

    [Benchmark]
    public void SpiralEvaluate()
    {
        for (int b = 0; b < Batch; b++)
        {
            var y = BenchSpiralField.F(Vec.Of(_h[2 * b], _h[2 * b + 1]), _t[b], _sW1, _sb1, _sW2, _sb2);
            _dh[2 * b] = y[0]; _dh[2 * b + 1] = y[1];
        }
    }

    [Benchmark]
    public void CnfEvaluate()
    {
        for (int b = 0; b < Batch; b++)
        {
            var y = BenchCnfField.F(Vec.Of(_h[2 * b], _h[2 * b + 1]), _t[b], _cW1, _cb1, _cW2, _cb2, _cW3, _cb3);
            _dh[2 * b] = y[0]; _dh[2 * b + 1] = y[1];
        }
    }

    public static double FlopsPerOperation(BenchmarkCase c) =>
        (int)c.Parameters["Batch"] * (c.Descriptor.WorkloadMethod.Name == nameof(SpiralEvaluate)
            ? ModelFlops.PerSample(typeof(BenchSpiralField.Dynamics))
            : ModelFlops.PerSample(typeof(BenchCnfField.Dynamics)));
}
