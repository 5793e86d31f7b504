using OdeDsl.Flows;
using OdeDsl.Training;

namespace OdeDsl.Tests.Flows;

/// <summary>
/// The exact divergence: the generator's EvaluateWithDivergence against the trace of the Jacobian built column by
/// column from generated JVPs; the library's fields against the same generated fields written in the DSL; and the
/// Hutchinson estimator's mean over many draws against the exact trace.
/// </summary>
public class DivergenceTests
{
    private const int Batch = 7;

    private static double[] Points(int n, int seed)
    {
        var rng = new Rng((ulong)seed);
        return Enumerable.Range(0, n).Select(_ => rng.NextGaussian()).ToArray();
    }

    /// <summary>tr(∂f/∂h) from StateSize JVPs with the basis vectors e_j.</summary>
    private static double[] TraceFromColumns<TDyn>(double[] t, double[] h, double[] theta) where TDyn : IOdeDynamics<TDyn>
    {
        int S = TDyn.StateSize;
        var trace = new double[Batch];
        var ws = new double[TDyn.WorkspaceLength(Batch)];
        var dh = new double[Batch * S];
        var jvp = new double[Batch * S];
        for (int j = 0; j < S; j++)
        {
            var e = new double[Batch * S];
            for (int b = 0; b < Batch; b++) e[b * S + j] = 1;
            TDyn.JacobianVectorProduct<double>(t, h, theta, e, dh, jvp, Batch, ws);
            for (int b = 0; b < Batch; b++) trace[b] += jvp[b * S + j];
        }
        return trace;
    }

    [Fact]
    public void GeneratedDivergenceIsTheTraceOfTheJacobianBuiltFromColumns()
    {
        var t = Enumerable.Repeat(0.3, Batch).ToArray();
        CheckGenerated<DslCnfField.Dynamics>(t, DslCnfField.Parameters.Initialize<double>(seed: 1));
        CheckGenerated<DslHyperPlanar.Dynamics>(t, DslHyperPlanar.Parameters.Initialize<double>(seed: 2));
    }

    internal static void CheckGenerated<TDyn>(double[] t, double[] theta) where TDyn : IOdeDynamics<TDyn>
    {
        var h = Points(Batch * TDyn.StateSize, 4);
        var expected = TraceFromColumns<TDyn>(t, h, theta);
        var dh = new double[Batch * TDyn.StateSize];
        var div = new double[Batch];
        TDyn.EvaluateWithDivergence<double>(t, h, theta, dh, div, Batch, new double[TDyn.WorkspaceLength(Batch)]);
        for (int b = 0; b < Batch; b++) Assert.Equal(expected[b], div[b], 1e-12);
    }

    [Fact]
    public void LibraryFieldsMatchTheGeneratedFieldsAndDivergence()
    {
        var t = Enumerable.Repeat(0.3, Batch).ToArray();
        // same layout: W1 [64, 3], b1, W2 [64, 65], b2, W3 [2, 65], b3
        var theta = DslCnfField.Parameters.Initialize<double>(seed: 7);
        Compare<ExactTraceCnf<MlpField<Every64>>, DslCnfField.Dynamics>(t, theta, theta);

        // the DSL hypernetwork orders fc3's rows column by column; permute cnf.py's order into it
        var dsl = DslHyperPlanar.Parameters.Initialize<double>(seed: 8);
        var lib = new double[HyperPlanarField<DslSizes>.ParameterCount];
        const int M = 3, D = 2, H = 4, P = 3 * M * D + M;
        int fc3 = 2 * H + H * H + H;  // A1, c1, A2, c2
        dsl.AsSpan(0, fc3).CopyTo(lib);
        for (int n = 0; n < M; n++)
        {
            for (int q = 0; q < 3; q++)
                for (int i = 0; i < D; i++)
                {
                    int dslRow = (2 * q + i) * M + n, libRow = q * M * D + n * D + i;
                    dsl.AsSpan(fc3 + dslRow * H, H).CopyTo(lib.AsSpan(fc3 + libRow * H, H));
                    lib[fc3 + P * H + libRow] = dsl[fc3 + P * H + dslRow];
                }
            dsl.AsSpan(fc3 + (6 * M + n) * H, H).CopyTo(lib.AsSpan(fc3 + (3 * M * D + n) * H, H));
            lib[fc3 + P * H + 3 * M * D + n] = dsl[fc3 + P * H + 6 * M + n];
        }
        Compare<ExactTraceCnf<HyperPlanarField<DslSizes>>, DslHyperPlanar.Dynamics>(t, lib, dsl);
    }

    public struct DslSizes : IHyperPlanarSpec
    {
        public static int Dimension => 2;
        public static int HyperHidden => 4;
        public static int Width => 3;
    }

    private static void Compare<TLib, TGen>(double[] t, double[] libTheta, double[] genTheta)
        where TLib : IOdeDynamics<TLib>
        where TGen : IOdeDynamics<TGen>
    {
        int d = TGen.StateSize;
        var z = Points(Batch * d, 5);
        var h = new double[Batch * (d + 1)];
        for (int b = 0; b < Batch; b++) z.AsSpan(b * d, d).CopyTo(h.AsSpan(b * (d + 1), d));
        var dhGen = new double[Batch * d];
        var divGen = new double[Batch];
        TGen.EvaluateWithDivergence<double>(t, z, genTheta, dhGen, divGen, Batch, new double[TGen.WorkspaceLength(Batch)]);
        var dhLib = new double[Batch * (d + 1)];
        var divLib = new double[Batch];
        TLib.EvaluateWithDivergence<double>(t, h, libTheta, dhLib, divLib, Batch, new double[TLib.WorkspaceLength(Batch)]);
        for (int b = 0; b < Batch; b++)
        {
            for (int i = 0; i < d; i++) Assert.Equal(dhGen[b * d + i], dhLib[b * (d + 1) + i], 1e-12);
            Assert.Equal(divGen[b], divLib[b], 1e-12);
            Assert.Equal(-divGen[b], dhLib[b * (d + 1) + d], 1e-12);
        }
    }

    [Theory]
    [InlineData(TraceEstimator.Gaussian)]
    [InlineData(TraceEstimator.Rademacher)]
    public void HutchinsonEstimateIsUnbiased(TraceEstimator noise)
    {
        // one point z, many noise draws: the rows of one batch share z and t and differ in ε
        const int draws = 20000, d = 3;
        var theta = MlpField<SmallSquash>.Layout.Initialize<double>(seed: 4);
        var z0 = Points(d, 6);
        var rng = new Rng(noise == TraceEstimator.Gaussian ? 1UL : 2UL);
        var h = new double[draws * (2 * d + 1)];
        for (int b = 0; b < draws; b++)
        {
            z0.CopyTo(h.AsSpan(b * (2 * d + 1), d));
            for (int i = 0; i < d; i++)
                h[b * (2 * d + 1) + d + 1 + i] = noise == TraceEstimator.Gaussian ? rng.NextGaussian() : (rng.NextUInt64() >> 63) == 0 ? 1 : -1;
        }
        var t = Enumerable.Repeat(0.25, draws).ToArray();
        var dh = new double[h.Length];
        HutchinsonCnf<MlpField<SmallSquash>>.Evaluate<double>(t, h, theta, dh, draws, new double[HutchinsonCnf<MlpField<SmallSquash>>.WorkspaceLength(draws)]);
        var estimates = Enumerable.Range(0, draws).Select(b => -dh[b * (2 * d + 1) + d]).ToArray();
        double mean = estimates.Average();
        double se = Math.Sqrt(estimates.Sum(e => (e - mean) * (e - mean)) / (draws - 1) / draws);

        var hx = new double[d + 1];
        z0.CopyTo(hx, 0);
        var dx = new double[d + 1];
        var div = new double[1];
        ExactTraceCnf<MlpField<SmallSquash>>.EvaluateWithDivergence<double>([0.25], hx, theta, dx, div, 1, new double[ExactTraceCnf<MlpField<SmallSquash>>.WorkspaceLength(1)]);
        Assert.True(se > 0);
        Assert.True(Math.Abs(mean - div[0]) <= 3 * se, $"mean {mean} vs exact {div[0]}: {Math.Abs(mean - div[0]) / se:F2} standard errors");
        // the estimator is not the exact trace draw by draw (else the check above could not fail)
        Assert.True(estimates.Max() - estimates.Min() > 1e-3);
    }
}
