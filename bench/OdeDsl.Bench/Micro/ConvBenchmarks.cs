using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using OdeDsl.Tensors;

namespace OdeDsl.Bench.Micro;

/// <summary>
/// The ODE-Net's convolution (Chen et al. 2018, MNIST): batch 128, 64 → 64 channels on 6×6 maps, 3×3 kernel,
/// padding 1 (InChannels 65 when the time channel is concatenated), and its group norm (32 groups), in float.
/// </summary>
[Config(typeof(MicroConfig))]
public class ConvBenchmarks
{
    [Params(64, 65)]
    public int InChannels { get; set; }

    private Conv2dShape _s;
    private float[] _x = [], _w = [], _bias = [], _y = [], _gx = [], _gw = [], _gb = [], _scratch = [];

    [GlobalSetup]
    public void Setup()
    {
        _s = Shape(InChannels);
        var rng = new Random(1);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        _x = R(_s.InputLength); _w = R(_s.WeightLength); _bias = R(_s.OutChannels); _y = R(_s.OutputLength);
        _gx = new float[_s.InputLength]; _gw = new float[_s.WeightLength]; _gb = new float[_s.OutChannels];
        _scratch = new float[_s.ScratchLength];
    }

    private static Conv2dShape Shape(int inChannels) => new(128, inChannels, 6, 6, 64, 3, 3, 1, 1);

    [Benchmark] public void Forward() => Conv2d.Forward<float>(_s, _x, _w, _bias, _y, _scratch);
    [Benchmark] public void BackwardInput() => Conv2d.BackwardInput<float>(_s, _y, _w, _gx, _scratch);
    [Benchmark] public void BackwardWeight() => Conv2d.BackwardWeight<float>(_s, _x, _y, _gw, _gb, _scratch);

    public static double FlopsPerOperation(BenchmarkCase c)
    {
        var s = Shape((int)c.Parameters["InChannels"]);
        return 2.0 * s.Batch * s.OutChannels * s.OutSpatial * s.PatchSize;
    }
}

/// <summary>GroupNorm(32 groups) forward, backward and JVP on the ODE-Net state [128, 64, 6, 6], float.</summary>
[Config(typeof(MicroConfig))]
public class GroupNormBenchmarks
{
    private const int Batch = 128, Channels = 64, Spatial = 36, Groups = 32;
    private readonly float[] _x = new float[Batch * Channels * Spatial], _y = new float[Batch * Channels * Spatial];
    private readonly float[] _g = new float[Batch * Channels * Spatial], _gx = new float[Batch * Channels * Spatial];
    private readonly float[] _gamma = new float[Channels], _beta = new float[Channels], _gg = new float[Channels], _gb = new float[Channels];
    private readonly float[] _stats = new float[2 * Batch * Groups];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        for (int i = 0; i < _x.Length; i++) { _x[i] = (float)rng.NextDouble(); _g[i] = (float)rng.NextDouble() - 0.5f; }
        Array.Fill(_gamma, 1f);
        Forward();
    }

    [Benchmark] public void Forward() => GroupNorm.Forward<float>(Batch, Channels, Spatial, Groups, 1e-5f, _x, _gamma, _beta, _y, _stats);
    [Benchmark] public void Backward() => GroupNorm.Backward<float>(Batch, Channels, Spatial, Groups, _x, _gamma, _stats, _g, _gx, _gg, _gb);
    [Benchmark] public void Jvp() => GroupNorm.JacobianVectorProduct<float>(Batch, Channels, Spatial, Groups, _x, _gamma, _stats, _g, _gx);
}
