using OdeDsl.Flows;
using OdeDsl.Training;

namespace OdeDsl.Tests.Flows;

/// <summary>
/// The generated divergence VJP (<see cref="IDivergenceVjpDynamics{TSelf}"/>): against central differences of the generated
/// f and divergence, against the library's hand-written reverse sweeps on the same weights, and, through
/// <see cref="GeneratedCnfField{TDynamics}"/>, a whole CNF: adjoint against backprop and finite differences, and the same
/// loss and gradient as the library field.
/// </summary>
public class GeneratedCnfTests
{
    private const int Batch = 5;

    private static double[] Gaussian(int n, ulong seed)
    {
        var rng = new Rng(seed);
        return Enumerable.Range(0, n).Select(_ => rng.NextGaussian()).ToArray();
    }

    /// <summary>L = Σ ā_f·f + Σ ā_div·div from the generated EvaluateWithDivergence.</summary>
    private static double Objective<TDyn>(double[] t, double[] h, double[] theta, double[] af, double[] ad) where TDyn : IOdeDynamics<TDyn>
    {
        int d = TDyn.StateSize;
        var f = new double[Batch * d];
        var div = new double[Batch];
        TDyn.EvaluateWithDivergence<double>(t, h, theta, f, div, Batch, new double[TDyn.WorkspaceLength(Batch)]);
        return f.Zip(af, (p, q) => p * q).Sum() + div.Zip(ad, (p, q) => p * q).Sum();
    }

    private static void CheckAgainstFiniteDifferences<TDyn>(double[] theta) where TDyn : IDivergenceVjpDynamics<TDyn>
    {
        int d = TDyn.StateSize, P = TDyn.ParameterCount;
        var t = Gaussian(Batch, 1).Select(v => 0.3 + 0.2 * v).ToArray();
        var h = Gaussian(Batch * d, 2);
        var af = Gaussian(Batch * d, 3);
        var ad = Gaussian(Batch, 4);
        var dh = new double[Batch * d];
        var div = new double[Batch];
        var gH = new double[Batch * d];
        var gTheta = Enumerable.Repeat(0.5, P).ToArray(); // ADDED into
        var gT = new double[Batch];
        TDyn.EvaluateWithDivergenceAndVectorJacobianProduct<double>(t, h, theta, af, ad, dh, div, gH, gTheta, gT, Batch,
            new double[TDyn.DivergenceWorkspaceLength(Batch)]);
        for (int i = 0; i < P; i++) gTheta[i] -= 0.5;

        // f and the divergence are the generated ones (f bit for bit; the divergence's tangent sweeps are other code, the IR rules')
        var dh0 = new double[Batch * d];
        var div0 = new double[Batch];
        TDyn.EvaluateWithDivergence<double>(t, h, theta, dh0, div0, Batch, new double[TDyn.WorkspaceLength(Batch)]);
        Assert.Equal(dh0, dh);
        for (int b = 0; b < Batch; b++) Assert.Equal(div0[b], div[b], 1e-13 * Math.Max(1, Math.Abs(div0[b])));

        const double eps = 1e-6;
        double Along(double[] x, double[] u, Func<double[], double> f) =>
            (f(x.Zip(u, (p, q) => p + eps * q).ToArray()) - f(x.Zip(u, (p, q) => p - eps * q).ToArray())) / (2 * eps);
        void Close(double fd, double analytic, string what) =>
            Assert.True(Math.Abs(fd - analytic) <= 1e-6 * Math.Max(1, Math.Abs(fd)), $"{what}: finite differences {fd}, generated {analytic}");

        for (int k = 0; k < 3; k++)
        {
            var uTheta = Gaussian(P, 10UL + (ulong)k);
            Close(Along(theta, uTheta, th => Objective<TDyn>(t, h, th, af, ad)), gTheta.Zip(uTheta, (p, q) => p * q).Sum(), "∂/∂θ");
            var uH = Gaussian(Batch * d, 20UL + (ulong)k);
            Close(Along(h, uH, hh => Objective<TDyn>(t, hh, theta, af, ad)), gH.Zip(uH, (p, q) => p * q).Sum(), "∂/∂h");
            var uT = Gaussian(Batch, 30UL + (ulong)k);
            Close(Along(t, uT, tt => Objective<TDyn>(tt, h, theta, af, ad)), gT.Zip(uT, (p, q) => p * q).Sum(), "∂/∂t");
        }
        Assert.True(gTheta.Any(v => Math.Abs(v) > 1e-3) && gH.Any(v => Math.Abs(v) > 1e-3));
    }

    [Fact]
    public void DivergenceVjpMatchesFiniteDifferences()
    {
        CheckAgainstFiniteDifferences<DslSecondOrderField.Dynamics>(DslSecondOrderField.Parameters.Initialize<double>(seed: 3));
        CheckAgainstFiniteDifferences<DslSquashField.Dynamics>(DslSquashField.Parameters.Initialize<double>(seed: 4));
        CheckAgainstFiniteDifferences<DslHyperPlanar.Dynamics>(DslHyperPlanar.Parameters.Initialize<double>(seed: 5));
    }

    [Fact]
    public void DivergenceVjpWithoutADivergenceCotangentIsTheVjp()
    {
        // ā_div = 0: the fused method's gradients are the plain generated VJP's
        var theta = DslCnfField.Parameters.Initialize<double>(seed: 6);
        var t = Enumerable.Repeat(0.4, Batch).ToArray();
        var h = Gaussian(Batch * 2, 7);
        var af = Gaussian(Batch * 2, 8);
        var ad = new double[Batch];
        var (g1, gt1) = (new double[theta.Length], new double[Batch]);
        var (g2, gt2) = (new double[theta.Length], new double[Batch]);
        var (gh1, gh2) = (new double[Batch * 2], new double[Batch * 2]);
        DslCnfField.Dynamics.VectorJacobianProduct<double>(t, h, theta, af, gh1, g1, gt1, Batch, new double[DslCnfField.Dynamics.WorkspaceLength(Batch)]);
        DslCnfField.Dynamics.EvaluateWithDivergenceAndVectorJacobianProduct<double>(t, h, theta, af, ad, new double[Batch * 2], new double[Batch],
            gh2, g2, gt2, Batch, new double[DslCnfField.Dynamics.DivergenceWorkspaceLength(Batch)]);
        for (int i = 0; i < g1.Length; i++) Assert.Equal(g1[i], g2[i], 1e-12);
        for (int i = 0; i < gh1.Length; i++) Assert.Equal(gh1[i], gh2[i], 1e-12);
        for (int i = 0; i < Batch; i++) Assert.Equal(gt1[i], gt2[i], 1e-12);
    }

    /// <summary>The library's BackwardTrace (hand-written reverse over the tangent rows) against the generated method, same θ.</summary>
    private static void CompareWithLibrary<TLib, TGen>(double[] theta)
        where TLib : ICnfField<TLib> where TGen : IDivergenceVjpDynamics<TGen>
    {
        int d = TLib.Dimension, P = TLib.ParameterCount;
        Assert.Equal(P, TGen.ParameterCount);
        const double time = 0.35;
        var z = Gaussian(Batch * d, 11);
        var af = Gaussian(Batch * d, 12);
        var ad = Gaussian(Batch, 13);
        var ws = new double[TLib.WorkspaceLength(Batch, d)];
        var (fLib, trLib, gzLib, gthLib) = (new double[Batch * d], new double[Batch], new double[Batch * d], new double[P]);
        TLib.ForwardTrace(time, z, theta, fLib, trLib, Batch, ws);
        double gtLib = TLib.BackwardTrace(time, theta, af, ad, gzLib, gthLib, Batch, ws);

        var t = Enumerable.Repeat(time, Batch).ToArray();
        var (fGen, trGen, gzGen, gthGen, gtGen) = (new double[Batch * d], new double[Batch], new double[Batch * d], new double[P], new double[Batch]);
        TGen.EvaluateWithDivergenceAndVectorJacobianProduct<double>(t, z, theta, af, ad, fGen, trGen, gzGen, gthGen, gtGen, Batch,
            new double[TGen.DivergenceWorkspaceLength(Batch)]);
        for (int i = 0; i < fLib.Length; i++) Assert.Equal(fLib[i], fGen[i], 1e-12);
        for (int i = 0; i < Batch; i++) Assert.Equal(trLib[i], trGen[i], 1e-12);
        for (int i = 0; i < gzLib.Length; i++) Assert.Equal(gzLib[i], gzGen[i], 1e-11);
        double scale = gthLib.Max(Math.Abs);
        for (int i = 0; i < P; i++) Assert.True(Math.Abs(gthLib[i] - gthGen[i]) <= 1e-11 * Math.Max(1, scale), $"θ[{i}]: library {gthLib[i]}, generated {gthGen[i]}");
        Assert.Equal(gtLib, gtGen.Sum(), 1e-10);
    }

    [Fact]
    public void DivergenceVjpMatchesTheLibrarysHandWrittenSweeps()
    {
        CompareWithLibrary<MlpField<SmallSquash>, DslSquashField.Dynamics>(MlpField<SmallSquash>.Layout.Initialize<double>(seed: 14));
        CompareWithLibrary<MlpField<Every64>, DslCnfField.Dynamics>(MlpField<Every64>.Layout.Initialize<double>(seed: 15));
    }

    [Fact]
    public void GeneratedDivergenceOfTheNewFieldsIsTheTraceOfTheJacobian()
    {
        // the trace built column by column from generated JVPs (DivergenceTests' reference) for the fields above
        var t = Enumerable.Repeat(0.3, 7).ToArray();
        DivergenceTests.CheckGenerated<DslSquashField.Dynamics>(t, DslSquashField.Parameters.Initialize<double>(seed: 16));
        DivergenceTests.CheckGenerated<DslSecondOrderField.Dynamics>(t, DslSecondOrderField.Parameters.Initialize<double>(seed: 17));
    }

    private static FlowOptions<double> Options(double tol) => new()
    {
        BaseTime = 0.5, DataTime = 0, BaseStd = 1,
        Solve = new SolveOptions<double> { RelTol = tol, AbsTol = tol },
    };

    [Fact]
    public void GeneratedFieldTrainsAsACnf_AdjointMatchesBackpropAndTheLibraryField()
    {
        var theta = MlpField<SmallSquash>.Layout.Initialize<double>(seed: 18);
        var rng = new Rng(3);
        var x = Enumerable.Range(0, 12 * 3).Select(_ => rng.NextGaussian() * 0.8).ToArray();
        var flow = new ContinuousFlow<GeneratedCnfField<DslSquashField.Dynamics>, double>(theta, Options(1e-10));
        var (gb, ga, gl) = (new double[theta.Length], new double[theta.Length], new double[theta.Length]);
        var r = new Rng(1);
        var sb = flow.NegativeLogLikelihood(x, gb, OdeDsl.Sensitivity.Backprop, ref r);
        var sa = flow.NegativeLogLikelihood(x, ga, OdeDsl.Sensitivity.Adjoint(), ref r);
        var sl = new ContinuousFlow<MlpField<SmallSquash>, double>(theta, Options(1e-10)).NegativeLogLikelihood(x, gl, OdeDsl.Sensitivity.Adjoint(), ref r);
        Assert.Equal(sb.Loss, sa.Loss, 1e-9);
        Assert.Equal(sl.Loss, sa.Loss, 1e-9);
        double Rel(double[] p, double[] q) => Math.Sqrt(p.Zip(q, (u, v) => (u - v) * (u - v)).Sum()) / Math.Sqrt(q.Sum(v => v * v));
        Assert.True(gb.Sum(v => v * v) > 1e-6);
        Assert.True(Rel(ga, gb) <= 1e-6, $"adjoint vs backprop: {Rel(ga, gb):E2} relative");
        Assert.True(Rel(ga, gl) <= 1e-8, $"generated vs library field: {Rel(ga, gl):E2} relative");
        // dL/d(base time) through the generated field, as FFJORD's learnable end time needs
        Assert.Equal(sl.BaseTimeGradient(), sa.BaseTimeGradient(), 1e-6);

        // and backprop against central differences of a fixed-step solve along a random direction
        FlowOptions<double> Fixed() => new()
        {
            BaseTime = 0.5, DataTime = 0, BaseStd = 1,
            Solve = new SolveOptions<double> { Method = Methods.Rk4, FixedStep = 0.125 },
        };
        var g = new double[theta.Length];
        new ContinuousFlow<GeneratedCnfField<DslSquashField.Dynamics>, double>(theta, Fixed()).NegativeLogLikelihood(x, g, OdeDsl.Sensitivity.Backprop, ref r);
        var dir = Gaussian(theta.Length, 19);
        double Loss(double s)
        {
            var lp = new double[12];
            new ContinuousFlow<GeneratedCnfField<DslSquashField.Dynamics>, double>(theta.Zip(dir, (p, q) => p + s * q).ToArray(), Fixed()).LogDensity(x, lp, ref r);
            return -lp.Average();
        }
        const double eps = 1e-5;
        double fd = (Loss(eps) - Loss(-eps)) / (2 * eps);
        Assert.Equal(fd, g.Zip(dir, (p, q) => p * q).Sum(), 1e-6 * Math.Max(1, Math.Abs(fd)));
    }

    [Fact]
    public void HutchinsonThroughTheGeneratedDirectionalMethodsMatchesTheLibraryField()
    {
        // the Hutchinson system [z, Δlog p, ε]: evaluation and VJP (∂/∂z, ∂/∂ε, ∂/∂θ, ∂/∂t) of both fields on the same rows
        const int d = 3, S = 2 * d + 1;
        var theta = MlpField<SmallSquash>.Layout.Initialize<double>(seed: 21);
        var h = Gaussian(Batch * S, 22);
        var a = Gaussian(Batch * S, 23);
        var t = Enumerable.Repeat(0.3, Batch).ToArray();
        (double[] Dh, double[] GradH, double[] GradTheta, double[] GradT) Run<TField>() where TField : ICnfField<TField>
        {
            var (dh, gh, gth, gt) = (new double[Batch * S], new double[Batch * S], new double[theta.Length], new double[Batch]);
            HutchinsonCnf<TField>.EvaluateAndVectorJacobianProduct<double>(t, h, theta, a, dh, gh, gth, gt, Batch,
                new double[HutchinsonCnf<TField>.WorkspaceLength(Batch)]);
            return (dh, gh, gth, gt);
        }
        var lib = Run<MlpField<SmallSquash>>();
        var gen = Run<GeneratedCnfField<DslSquashField.Dynamics>>();
        for (int i = 0; i < lib.Dh.Length; i++) Assert.Equal(lib.Dh[i], gen.Dh[i], 1e-12);
        for (int i = 0; i < lib.GradH.Length; i++) Assert.Equal(lib.GradH[i], gen.GradH[i], 1e-11);
        for (int i = 0; i < lib.GradTheta.Length; i++) Assert.Equal(lib.GradTheta[i], gen.GradTheta[i], 1e-11);
        Assert.Equal(lib.GradT[0], gen.GradT[0], 1e-10);
        Assert.Contains(lib.GradH.Where((_, i) => i % S > d), v => Math.Abs(v) > 1e-3); // ∂/∂ε is exercised

        // and a whole Rademacher-noise CNF: adjoint against backprop, same noise
        var x = Gaussian(10 * d, 24).Select(v => 0.8 * v).ToArray();
        var options = new FlowOptions<double>
        {
            BaseTime = 0.5, DataTime = 0, BaseStd = 1, Trace = TraceEstimator.Rademacher,
            Solve = new SolveOptions<double> { RelTol = 1e-10, AbsTol = 1e-10 },
        };
        var flow = new ContinuousFlow<GeneratedCnfField<DslSquashField.Dynamics>, double>(theta, options);
        var (gb, ga) = (new double[theta.Length], new double[theta.Length]);
        var (r1, r2) = (new Rng(9), new Rng(9));
        var sb = flow.NegativeLogLikelihood(x, gb, OdeDsl.Sensitivity.Backprop, ref r1);
        var sa = flow.NegativeLogLikelihood(x, ga, OdeDsl.Sensitivity.Adjoint(), ref r2);
        Assert.Equal(sb.Loss, sa.Loss, 1e-9);
        double diff = Math.Sqrt(gb.Zip(ga, (p, q) => (p - q) * (p - q)).Sum()), norm = Math.Sqrt(gb.Sum(v => v * v));
        Assert.True(norm > 1e-3 && diff <= 1e-6 * norm, $"adjoint vs backprop: {diff / norm:E2} relative");
    }
}
