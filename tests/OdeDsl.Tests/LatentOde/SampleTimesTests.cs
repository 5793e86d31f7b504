using OdeDsl.Tests.Sensitivity;
using OdeDsl.Training;

namespace OdeDsl.Tests.LatentOdeExample;

/// <summary>
/// Per-sample output times (irregular, a different count per sample) solved and differentiated in one call: the outputs
/// against solving each sample alone and against the union grid; the gradients against finite differences, the union
/// grid's gradients and each other (backprop, adjoint).
/// </summary>
public class SampleTimesTests
{
    private const int Batch = 5, S = 2;

    /// <summary>Irregular times on [0, 2] per sample: counts 0, 1, 3, 4, 6 (one shared with another sample, one at t₀).</summary>
    private static SampleTimes<double> Times() => new(0.0,
    [
        [],
        [1.3],
        [0.0, 0.4, 1.9],
        [0.25, 0.4, 0.77, 1.2],
        [0.1, 0.3, 0.5, 0.9, 1.6, 2.0],
    ]);

    private static double[] Y0()
    {
        var rng = new Rng(3);
        var y = new double[Batch * S];
        for (int i = 0; i < y.Length; i++) y[i] = rng.NextGaussian();
        return y;
    }

    private static readonly double[] Theta = MlpField.SeededTheta(1);

    private static double[] Weights(int count)
    {
        var rng = new Rng(11);
        var w = new double[count * S];
        for (int i = 0; i < w.Length; i++) w[i] = rng.NextGaussian();
        return w;
    }

    private static double Dot(double[] a, double[] b) { double s = 0; for (int i = 0; i < a.Length; i++) s += a[i] * b[i]; return s; }

    [Fact]
    public void OutputsEqualSolvingEachSampleAlone()
    {
        var times = Times();
        var y0 = Y0();
        var options = new SolveOptions<double> { RelTol = 1e-11, AbsTol = 1e-12 };
        var result = Ode.SolveAtSampleTimes(new DynamicsRhs<MlpField, double>(Theta, Batch), y0, times, options);
        Assert.Equal(times.Count * S, result.States.Length);
        for (int b = 0; b < Batch; b++)
        {
            var own = times.Of(b);
            if (own.Length == 0) continue;
            // Alone: batch 1, its own times (t₀ prepended unless it is already one of them).
            var alone = own[0] == 0.0 ? own.ToArray() : [0.0, .. own.ToArray()];
            int skip = own[0] == 0.0 ? 0 : 1;
            var single = Ode.Solve(new DynamicsRhs<MlpField, double>(Theta, 1), y0.AsSpan(b * S, S), alone, options);
            Assert.True(single.Succeeded);
            for (int i = 0; i < own.Length; i++)
                for (int c = 0; c < S; c++)
                    Assert.Equal(single.State(i + skip, 0)[c], result.State(b, i)[c], 1e-8);
        }
    }

    [Fact]
    public void OutputsEqualTheUnionGridsAtEachSamplesOwnTimes()
    {
        var times = Times();
        var y0 = Y0();
        var options = new SolveOptions<double> { RelTol = 1e-6, AbsTol = 1e-8 };
        var ragged = Ode.SolveAtSampleTimes(new DynamicsRhs<MlpField, double>(Theta, Batch), y0, times, options);
        var union = times.All.ToArray().Distinct().Order().ToArray();
        var full = Ode.Solve(new DynamicsRhs<MlpField, double>(Theta, Batch), y0, union, options);
        // Output times never shorten steps, so the union solve takes the very same steps: equal up to summation order.
        Assert.Equal(full.Stats, ragged.Stats);
        for (int b = 0; b < Batch; b++)
            for (int i = 0; i < times.Of(b).Length; i++)
            {
                int u = Array.IndexOf(union, times.Of(b)[i]);
                for (int c = 0; c < S; c++) Assert.Equal(full.State(u, b)[c], ragged.State(b, i)[c], 1e-13);
            }
    }

    [Fact]
    public void BackpropGradientMatchesFiniteDifferences()
    {
        var times = Times();
        var y0 = Y0();
        var options = new SolveOptions<double> { Method = Methods.Rk4, FixedStep = 0.05 };
        var w = Weights(times.Count);
        var forward = Ode.ForwardAtSampleTimes<MlpField, double>(y0, times, Theta, OdeDsl.Sensitivity.Backprop, options);
        var grad = forward.Backward(w);
        double Loss(double[] yy, double[] th) => Dot(Ode.ForwardAtSampleTimes<MlpField, double>(yy, times, th, OdeDsl.Sensitivity.Backprop, options).States, w);
        var fdY = FiniteDifferences(y0, x => Loss(x, Theta));
        var fdTheta = FiniteDifferences(Theta, x => Loss(y0, x));
        Assert.InRange(Reference.RelativeError(grad.InitialState, fdY), 0, 1e-7);
        Assert.InRange(Reference.RelativeError(grad.Theta, fdTheta), 0, 1e-7);
        Assert.Empty(grad.Times);
    }

    [Fact]
    public void BackpropGradientEqualsTheUnionGridsWithMaskedCotangents()
    {
        var times = Times();
        var y0 = Y0();
        var options = new SolveOptions<double> { RelTol = 1e-6, AbsTol = 1e-8 };
        var w = Weights(times.Count);
        var ragged = Ode.ForwardAtSampleTimes<MlpField, double>(y0, times, Theta, OdeDsl.Sensitivity.Backprop, options).Backward(w);
        var union = times.All.ToArray().Distinct().Order().ToArray();
        var masked = new double[union.Length * Batch * S];
        for (int b = 0; b < Batch; b++)
            for (int i = 0; i < times.Of(b).Length; i++)
            {
                int u = Array.IndexOf(union, times.Of(b)[i]), o = times.Offset(b) + i;
                for (int c = 0; c < S; c++) masked[(u * Batch + b) * S + c] = w[o * S + c];
            }
        var full = Ode.Gradient<MlpField, double>(y0, union, Theta, masked, OdeDsl.Sensitivity.Backprop, options);
        Assert.InRange(Reference.RelativeError(ragged.InitialState, full.InitialState), 0, 1e-12);
        Assert.InRange(Reference.RelativeError(ragged.Theta, full.Theta), 0, 1e-12);
    }

    [Fact]
    public void AdjointAgreesWithBackprop()
    {
        var times = Times();
        var y0 = Y0();
        var options = new SolveOptions<double> { RelTol = 1e-10, AbsTol = 1e-11 };
        var w = Weights(times.Count);
        var forward = Ode.ForwardAtSampleTimes<MlpField, double>(y0, times, Theta, OdeDsl.Sensitivity.Adjoint(), options);
        var adjoint = forward.Backward(w);
        var backprop = Ode.ForwardAtSampleTimes<MlpField, double>(y0, times, Theta, OdeDsl.Sensitivity.Backprop, options).Backward(w);
        Assert.InRange(Reference.RelativeError(adjoint.InitialState, backprop.InitialState), 0, 1e-6);
        Assert.InRange(Reference.RelativeError(adjoint.Theta, backprop.Theta), 0, 1e-6);
        Assert.True(adjoint.Backward.FunctionEvaluations > 0);
    }

    /// <summary>
    /// The per-sample adjoint against each sample solved alone with the seminorm adjoint (batch 1, its own times): every
    /// row takes the same backward steps, so the same evaluation count, and the gradients agree to within the tiny
    /// difference of the forward states (the shared interpolant vs the sample's own solve, both at rtol 1e-12).
    /// Covers FSAL (dopri5, bosh3), a non-FSAL tableau with two error estimates (dopri8) and a fixed-step method (rk4).
    /// </summary>
    [Theory]
    [InlineData("dopri5")]
    [InlineData("bosh3")]
    [InlineData("dopri8")]
    [InlineData("rk4")]
    public void AdjointEqualsSolvingEachSampleAlone(string method)
    {
        var times = Times();
        var y0 = Y0();
        var m = Methods.ByName(method);
        var forwardOptions = m.IsAdaptive
            ? new SolveOptions<double> { Method = m, RelTol = 1e-12, AbsTol = 1e-13 }
            : new SolveOptions<double> { Method = m, FixedStep = 0.05 };
        var adjoint = OdeDsl.Sensitivity.Adjoint(new AdjointOptions { RelTol = 1e-7, AbsTol = 1e-9, Seminorm = true });
        var w = Weights(times.Count);
        var forward = Ode.ForwardAtSampleTimes<MlpField, double>(y0, times, Theta, adjoint, forwardOptions);
        var backOptions = AdjointShared.BackwardOptions<double>(forwardOptions, ((AdjointSensitivity)adjoint).Options, static _ => 0);
        var solver = new SampleTimesAdjoint<MlpField, double>(times, Theta, forward.States, backOptions, null);
        var (yBar, thetaBar, stats) = solver.Run(w);
        var public_ = forward.Backward(w);
        Assert.Equal(yBar, public_.InitialState);
        Assert.Equal(thetaBar, public_.Theta);

        var thetaAlone = new double[Theta.Length];
        long mostEvaluations = 0;
        for (int b = 0; b < Batch; b++)
        {
            var own = times.Of(b).ToArray();
            if (own.Length == 0)
            {
                Assert.Equal(new double[S], yBar.AsSpan(b * S, S).ToArray());
                Assert.Equal(0, solver.RowEvaluations[b]);
                continue;
            }
            int skip = own[0] == 0.0 ? 0 : 1;
            double[] alone = skip == 0 ? own : [0.0, .. own];
            var g = new double[alone.Length * S];
            w.AsSpan(times.Offset(b) * S, own.Length * S).CopyTo(g.AsSpan(skip * S));
            var single = Ode.Gradient<MlpField, double>(y0.AsSpan(b * S, S), alone, Theta, g, adjoint, forwardOptions);
            Assert.Equal(single.Backward.FunctionEvaluations, solver.RowEvaluations[b]);
            mostEvaluations = Math.Max(mostEvaluations, solver.RowEvaluations[b]);
            Assert.InRange(Reference.RelativeError(yBar.AsSpan(b * S, S).ToArray(), single.InitialState), 0, 1e-9);
            for (int i = 0; i < Theta.Length; i++) thetaAlone[i] += single.Theta[i];
        }
        Assert.InRange(Reference.RelativeError(thetaBar, thetaAlone), 0, 1e-9);
        // Batched: as many calls as the busiest row needs, not the sum over rows.
        Assert.Equal(mostEvaluations, stats.FunctionEvaluations);
    }

    [Fact]
    public void RejectsBadInput()
    {
        Assert.Throws<ArgumentException>(() => new SampleTimes<double>(0.0, [[0.5, 0.5]]));
        Assert.Throws<ArgumentException>(() => new SampleTimes<double>(1.0, [[0.5]]));
        Assert.Throws<ArgumentException>(() => new SampleTimes<double>(0.0, [[double.NaN]]));
        var times = Times();
        Assert.Throws<ArgumentException>(() => Ode.SolveAtSampleTimes(new DynamicsRhs<MlpField, double>(Theta, Batch), new double[3 * S], times));
        Assert.Throws<ArgumentException>(() => Ode.SolveAtSampleTimes(new DynamicsRhs<MlpField, double>(Theta, Batch), Y0(), times,
            new SolveOptions<double> { StepMode = BatchStepMode.PerSample }));
        Assert.Throws<NotSupportedException>(() => Ode.ForwardAtSampleTimes<MlpField, double>(Y0(), times, Theta, OdeDsl.Sensitivity.CheckpointedAdjoint(2)));
        var forward = Ode.ForwardAtSampleTimes<MlpField, double>(Y0(), times, Theta, OdeDsl.Sensitivity.Backprop);
        Assert.Throws<ArgumentException>(() => forward.Backward(new double[3]));
    }

    private static double[] FiniteDifferences(double[] x, Func<double[], double> loss, double eps = 1e-6)
    {
        var g = new double[x.Length];
        var xx = (double[])x.Clone();
        for (int i = 0; i < x.Length; i++)
        {
            xx[i] = x[i] + eps; double lp = loss(xx);
            xx[i] = x[i] - eps; double lm = loss(xx);
            xx[i] = x[i];
            g[i] = (lp - lm) / (2 * eps);
        }
        return g;
    }
}
