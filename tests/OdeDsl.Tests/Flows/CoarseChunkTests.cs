using OdeDsl.Flows;
using OdeDsl.Training;

namespace OdeDsl.Tests.Flows;

/// <summary>
/// The CNF systems split a batch into one chunk per thread (ICoarseRowChunks), and backprop's reverse sweep then runs
/// their VJPs through the adjoint's two-chunk batch: its gradients (θ and the base time) against central differences of
/// a fixed-step solve at a batch large enough to take that path.
/// </summary>
public class CoarseChunkTests
{
    [Fact]
    public void CnfSystemsUseOneChunkPerThread()
    {
        Assert.Equal(256, RowChunkedEvaluator<ExactTraceCnf<HyperPlanarField<CnfPyHyperSpec>>, float>.ChunkRowsFor(512));
        Assert.Equal(256, RowChunkedEvaluator<RegularizedHutchinsonCnf<MlpField<CnfPyMlpSpec>>, float>.ChunkRowsFor(511));
        Assert.Equal(RowChunkedEvaluator<HutchinsonCnf<MlpField<CnfPyMlpSpec>>, float>.MinChunkRows, RowChunkedEvaluator<HutchinsonCnf<MlpField<CnfPyMlpSpec>>, float>.ChunkRowsFor(20));
        Assert.Equal(2, new AdjointBatch<ExactTraceCnf<MlpField<SmallConcatInput>>, double>(new double[MlpField<SmallConcatInput>.ParameterCount], 80).Chunks);
    }

    [Theory]
    [InlineData(TraceEstimator.Exact)]
    [InlineData(TraceEstimator.Rademacher)]
    public void SplitBackpropMatchesDifferences(TraceEstimator trace)
    {
        const int n = 80;
        const double T0 = 0.01;
        var theta = MlpField<SmallConcatInput>.Layout.Initialize<double>(seed: 2);
        FlowOptions<double> Options(double baseTime) => new()
        {
            BaseTime = baseTime, DataTime = 1, BaseStd = 0.7, Trace = trace, Kinetic = trace == TraceEstimator.Exact ? 0 : 0.1,
            Solve = new SolveOptions<double> { Method = Methods.Rk4, FixedStep = 0.125 },
        };
        var rngData = new Rng(4);
        var x = ToyDatasets.Sample("moons", n, ref rngData);
        var g = new double[theta.Length];
        var rng = new Rng(1);
        var step = new ContinuousFlow<MlpField<SmallConcatInput>, double>(theta, Options(T0)).NegativeLogLikelihood(x, g, OdeDsl.Sensitivity.Backprop, ref rng);
        var dir = new double[theta.Length];
        var r = new Rng(8);
        for (int i = 0; i < dir.Length; i++) dir[i] = r.NextGaussian();
        double Loss(double s, double baseTime)
        {
            var th = theta.Zip(dir, (p, q) => p + s * q).ToArray();
            var rr = new Rng(1);
            return new ContinuousFlow<MlpField<SmallConcatInput>, double>(th, Options(baseTime))
                .NegativeLogLikelihood(x, new double[th.Length], OdeDsl.Sensitivity.Backprop, ref rr).Loss;
        }
        const double eps = 1e-5;
        double fd = (Loss(eps, T0) - Loss(-eps, T0)) / (2 * eps);
        Assert.Equal(fd, g.Zip(dir, (p, q) => p * q).Sum(), 1e-6 * Math.Max(1, Math.Abs(fd)));
        // fixed steps of 0.125 over [0.01, 1]: 8 steps on both sides of the difference (only the last one's length moves)
        double fdT = (Loss(0, T0 + eps) - Loss(0, T0 - eps)) / (2 * eps);
        Assert.Equal(fdT, step.BaseTimeGradient(), 1e-5 * Math.Max(1, Math.Abs(fdT)));
    }
}
