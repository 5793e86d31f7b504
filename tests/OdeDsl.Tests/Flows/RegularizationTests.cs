using OdeDsl.Flows;
using OdeDsl.Training;

namespace OdeDsl.Tests.Flows;

/// <summary>
/// RNODE's kinetic-energy and Jacobian-Frobenius regularisers (Finlay et al. 2020) as extra states of the CNF
/// augmented system: the regularised systems' VJPs against central differences (second derivatives of f), the
/// regularised loss's gradient against differences of a fixed-step solve, adjoint against backprop, and the
/// integrals against a direct quadrature along a solved trajectory (Jacobians by differences of f).
/// </summary>
public class RegularizationTests
{
    private const int Batch = 4;

    public static TheoryData<string, bool> Systems() => new()
    {
        { "hyper", false }, { "hyper", true }, { "mlp", false }, { "mlp", true }, { "squash", true },
    };

    [Theory]
    [MemberData(nameof(Systems))]
    public void RegularizedVjpMatchesDifferences(string field, bool hutchinson)
    {
        switch (field, hutchinson)
        {
            case ("hyper", false): CheckVjp<RegularizedExactTraceCnf<HyperPlanarField<SmallHyper>>>(HyperPlanarField<SmallHyper>.Layout); break;
            case ("hyper", true): CheckVjp<RegularizedHutchinsonCnf<HyperPlanarField<SmallHyper>>>(HyperPlanarField<SmallHyper>.Layout); break;
            case ("mlp", false): CheckVjp<RegularizedExactTraceCnf<MlpField<SmallConcatInput>>>(MlpField<SmallConcatInput>.Layout); break;
            case ("mlp", true): CheckVjp<RegularizedHutchinsonCnf<MlpField<SmallConcatInput>>>(MlpField<SmallConcatInput>.Layout); break;
            default: CheckVjp<RegularizedHutchinsonCnf<MlpField<SmallSquash>>>(MlpField<SmallSquash>.Layout); break;
        }
    }

    [Theory]
    [InlineData("hyper", TraceEstimator.Exact)]
    [InlineData("hyper", TraceEstimator.Rademacher)]
    [InlineData("mlp", TraceEstimator.Exact)]
    [InlineData("mlp", TraceEstimator.Gaussian)]
    public void RegularizedLossGradientMatchesDifferencesAndAdjoint(string field, TraceEstimator trace)
    {
        if (field == "hyper") CheckLoss<HyperPlanarField<SmallHyper>>(trace);
        else CheckLoss<MlpField<SmallConcatInput>>(trace);
    }

    [Theory]
    [InlineData("hyper")]
    [InlineData("mlp")]
    public void IntegralsMatchQuadratureAlongTheTrajectory(string field)
    {
        if (field == "hyper") CheckIntegrals<HyperPlanarField<SmallHyper>>();
        else CheckIntegrals<MlpField<SmallConcatInput>>();
    }

    [Fact]
    public void RegularizedSolveTakesTheUnregularizedStepsAndAddsTheWeightedIntegrals()
    {
        var theta = MlpField<SmallConcatInput>.Layout.Initialize<double>(seed: 4);
        var x = Points(8, 2);
        var g0 = new double[theta.Length];
        var g1 = new double[theta.Length];
        var r0 = new Rng(1);
        var r1 = new Rng(1);
        var plain = new ContinuousFlow<MlpField<SmallConcatInput>, double>(theta, Options(TraceEstimator.Exact, 0, 0, fixedStep: false))
            .NegativeLogLikelihood(x, g0, OdeDsl.Sensitivity.Backprop, ref r0);
        var reg = new ContinuousFlow<MlpField<SmallConcatInput>, double>(theta, Options(TraceEstimator.Exact, 0.3, 0.2, fixedStep: false))
            .NegativeLogLikelihood(x, g1, OdeDsl.Sensitivity.Backprop, ref r1);
        // the regulariser states stay out of error control: same steps, and the loss grows by exactly λ·integrals
        Assert.Equal(plain.Forward.FunctionEvaluations, reg.Forward.FunctionEvaluations);
        Assert.Equal(plain.Loss + 0.3 * reg.Kinetic + 0.2 * reg.JacobianFrobenius, reg.Loss, 1e-9);
        Assert.True(reg.Kinetic > 0 && reg.JacobianFrobenius > 0);
        Assert.Equal(0, plain.Kinetic);
        Assert.Throws<ArgumentException>(() => new ContinuousFlow<MlpField<SmallConcatInput>, double>(theta, Options(TraceEstimator.Exact, -1, 0, false)));
    }

    private static FlowOptions<double> Options(TraceEstimator trace, double kinetic, double jacobian, bool fixedStep) => new()
    {
        BaseTime = 0, DataTime = 1, BaseStd = 0.8, Trace = trace, Kinetic = kinetic, JacobianFrobenius = jacobian,
        Solve = fixedStep
            ? new SolveOptions<double> { Method = Methods.Rk4, FixedStep = 0.125 }
            : new SolveOptions<double> { RelTol = 1e-10, AbsTol = 1e-10 },
    };

    private static double[] Points(int n, ulong seed)
    {
        var rng = new Rng(seed);
        return ToyDatasets.Sample("moons", n, ref rng);
    }

    private static double[] Random(int n, ref Rng rng)
    {
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = rng.NextGaussian();
        return v;
    }

    private static double Dot(double[] x, double[] y) => x.Zip(y, (p, q) => p * q).Sum();

    /// <summary>⟨a, ∂dh/∂x · δ⟩ from the VJP against a central difference of ⟨a, dh⟩ along δ, for x = θ, h and t.</summary>
    private static void CheckVjp<TDyn>(ParameterLayout layout) where TDyn : IOdeDynamics<TDyn>
    {
        int S = TDyn.StateSize, P = TDyn.ParameterCount;
        var rng = new Rng(5);
        var theta = layout.Initialize<double>(seed: 9);
        var h = Random(Batch * S, ref rng);
        var a = Random(Batch * S, ref rng);
        var gradH = new double[Batch * S];
        var gradTheta = new double[P];
        var gradT = new double[Batch];
        TDyn.VectorJacobianProduct<double>(Enumerable.Repeat(0.4, Batch).ToArray(), h, theta, a, gradH, gradTheta, gradT, Batch,
            new double[TDyn.WorkspaceLength(Batch)]);
        var dhCheck = new double[Batch * S];
        var gradH2 = new double[Batch * S];
        TDyn.EvaluateAndVectorJacobianProduct<double>(Enumerable.Repeat(0.4, Batch).ToArray(), h, theta, a, dhCheck, gradH2, new double[P],
            new double[Batch], Batch, new double[TDyn.WorkspaceLength(Batch)]);
        Assert.Equal(gradH, gradH2);

        double Loss(double[] th, double[] hh, double tt)
        {
            var dh = new double[Batch * S];
            TDyn.Evaluate<double>(Enumerable.Repeat(tt, Batch).ToArray(), hh, th, dh, Batch, new double[TDyn.WorkspaceLength(Batch)]);
            return Dot(a, dh);
        }
        Assert.Equal(Loss(theta, h, 0.4), Dot(a, dhCheck), 1e-12);
        const double eps = 1e-6;
        var dTheta = Random(P, ref rng);
        double fdTheta = (Loss(theta.Zip(dTheta, (x, y) => x + eps * y).ToArray(), h, 0.4)
                          - Loss(theta.Zip(dTheta, (x, y) => x - eps * y).ToArray(), h, 0.4)) / (2 * eps);
        Assert.Equal(fdTheta, Dot(gradTheta, dTheta), 1e-6 * Math.Max(1, Math.Abs(fdTheta)));
        var dH = Random(Batch * S, ref rng);
        double fdH = (Loss(theta, h.Zip(dH, (x, y) => x + eps * y).ToArray(), 0.4)
                      - Loss(theta, h.Zip(dH, (x, y) => x - eps * y).ToArray(), 0.4)) / (2 * eps);
        Assert.Equal(fdH, Dot(gradH, dH), 1e-6 * Math.Max(1, Math.Abs(fdH)));
        double fdT = (Loss(theta, h, 0.4 + eps) - Loss(theta, h, 0.4 - eps)) / (2 * eps);
        Assert.Equal(fdT, gradT.Sum(), 1e-6 * Math.Max(1, Math.Abs(fdT)));
    }

    /// <summary>
    /// The regularised NLL's θ-gradient: backprop through a fixed-step solve against central differences of the same
    /// solve's loss, and the adaptive adjoint against adaptive backprop (same noise draws).
    /// </summary>
    private static void CheckLoss<TField>(TraceEstimator trace) where TField : ICnfField<TField>
    {
        const double lk = 0.05, lj = 0.02;
        var theta = TField.Layout.Initialize<double>(seed: 2);
        var x = Points(12, 4);
        var g = new double[theta.Length];
        var rng = new Rng(1);
        var step = new ContinuousFlow<TField, double>(theta, Options(trace, lk, lj, fixedStep: true))
            .NegativeLogLikelihood(x, g, OdeDsl.Sensitivity.Backprop, ref rng);
        Assert.True(step.Kinetic > 0 && step.JacobianFrobenius > 0);
        var dir = new double[theta.Length];
        var r = new Rng(8);
        for (int i = 0; i < dir.Length; i++) dir[i] = r.NextGaussian();
        double Loss(double s)
        {
            var th = theta.Zip(dir, (p, q) => p + s * q).ToArray();
            var rr = new Rng(1);
            return new ContinuousFlow<TField, double>(th, Options(trace, lk, lj, fixedStep: true))
                .NegativeLogLikelihood(x, new double[th.Length], OdeDsl.Sensitivity.Backprop, ref rr).Loss;
        }
        const double eps = 1e-5;
        double fd = (Loss(eps) - Loss(-eps)) / (2 * eps);
        Assert.Equal(fd, Dot(g, dir), 1e-6 * Math.Max(1, Math.Abs(fd)));

        var flow = new ContinuousFlow<TField, double>(theta, Options(trace, lk, lj, fixedStep: false));
        var gb = new double[theta.Length];
        var ga = new double[theta.Length];
        var r1 = new Rng(9);
        var r2 = new Rng(9);
        var sb = flow.NegativeLogLikelihood(x, gb, OdeDsl.Sensitivity.Backprop, ref r1);
        var sa = flow.NegativeLogLikelihood(x, ga, OdeDsl.Sensitivity.Adjoint(), ref r2);
        Assert.Equal(sb.Loss, sa.Loss, 1e-9);
        double diff = Math.Sqrt(gb.Zip(ga, (p, q) => (p - q) * (p - q)).Sum()), norm = Math.Sqrt(Dot(gb, gb));
        Assert.True(diff <= 1e-6 * norm, $"adjoint vs backprop: {diff / norm:E2} relative");
    }

    /// <summary>
    /// The flow's E_K and E_J (exact trace) against Simpson's rule over z(t) from a separate trajectory solve, with
    /// ‖f‖² from the field's forward and ‖∂f/∂z‖²_F from central differences of f.
    /// </summary>
    private static void CheckIntegrals<TField>() where TField : ICnfField<TField>
    {
        int d = TField.Dimension, n = 6, intervals = 200;
        var theta = TField.Layout.Initialize<double>(seed: 6);
        var x = Points(n, 7);
        var flow = new ContinuousFlow<TField, double>(theta, Options(TraceEstimator.Exact, 1, 1, fixedStep: false));
        var rng = new Rng(0);
        var step = flow.NegativeLogLikelihood(x, new double[theta.Length], OdeDsl.Sensitivity.Backprop, ref rng);
        var times = Enumerable.Range(0, intervals + 1).Select(i => 1.0 - (double)i / intervals).ToArray(); // data → base
        var z = flow.Trajectory(x, times);
        var ws = new double[TField.WorkspaceLength(n, 0)];
        var f = new double[n * d];
        var fp = new double[n * d];
        var fm = new double[n * d];
        double kinetic = 0, jacobian = 0;
        for (int i = 0; i <= intervals; i++)
        {
            var zi = z.AsSpan(i * n * d, n * d).ToArray();
            TField.Forward(times[i], zi, theta, [], 0, f, [], n, ws);
            double k2 = f.Sum(v => v * v), j2 = 0;
            const double eps = 1e-6;
            for (int c = 0; c < d; c++)
            {
                var zp = (double[])zi.Clone();
                var zm = (double[])zi.Clone();
                for (int b = 0; b < n; b++) { zp[b * d + c] += eps; zm[b * d + c] -= eps; }
                TField.Forward(times[i], zp, theta, [], 0, fp, [], n, ws);
                TField.Forward(times[i], zm, theta, [], 0, fm, [], n, ws);
                for (int j = 0; j < n * d; j++) j2 += Math.Pow((fp[j] - fm[j]) / (2 * eps), 2);
            }
            double w = (i == 0 || i == intervals ? 1 : i % 2 == 1 ? 4 : 2) / (3.0 * intervals) / n; // Simpson, mean over the batch
            kinetic += w * k2;
            jacobian += w * j2;
        }
        Assert.Equal(kinetic, step.Kinetic, 1e-7 * kinetic);
        Assert.Equal(jacobian, step.JacobianFrobenius, 1e-7 * jacobian);
    }
}
