using LatentOde;
using OdeDsl.Data;
using OdeDsl.Training;

namespace OdeDsl.Tests.LatentOdeExample;

/// <summary>
/// The latent ODE's negative ELBO and the RNN baseline's loss against central finite differences, on a tiny batch (3
/// spirals, 4 observations each) with ε fixed, in double. With fixed-step RK4 the solve is a smooth function of the
/// parameters and backprop is its exact derivative, so the two agree to the finite differences' own error (~1e-8).
/// Entries are checked in every part of θ: encoder cell, posterior layer, latent field and decoder.
/// </summary>
public class ElboGradientTests
{
    private static SequenceBatch<double> TinyBatch()
    {
        var data = IrregularSpirals.Generate(new SpiralSettings { Spirals = 3, Observations = 4 }, seed: 7);
        return SequenceBatch<double>.From(data, [0, 1, 2]);
    }

    private static readonly SolveOptions<double> FixedRk4 = new() { Method = Methods.Rk4, FixedStep = 0.1 };

    /// <param name="encoded">How many first observations the encoder reads (null: all four, the paper's objective; 2:
    /// the --encode-prefix training, the likelihood still over all four).</param>
    /// <param name="klWeight">β of the KL term (1: the ELBO; --kl-weight).</param>
    /// <param name="splits">The consistency term's split index m per trajectory (with weight <paramref name="consistency"/>;
    /// --consistency): shared, or each its own (--consistency-splits each: the suffixes are ragged).</param>
    [Theory]
    [InlineData(null, 1.0, null, 0.0)]
    [InlineData(2, 1.0, null, 0.0)]
    [InlineData(null, 2.5, null, 0.0)]
    [InlineData(null, 1.0, new[] { 2, 2, 2 }, 0.7)]
    [InlineData(3, 1.5, new[] { 1, 1, 1 }, 2.0)]
    [InlineData(null, 1.0, new[] { 1, 3, 2 }, 0.7)]
    public void LatentOdeElboGradientMatchesFiniteDifferencesInEveryPart(int? encoded, double klWeight, int[]? splits, double consistency)
    {
        var batch = TinyBatch();
        var model = new LatentOdeModel<LatentField.Dynamics, double>(OdeDsl.Sensitivity.Backprop, FixedRk4, noiseStd: 0.3)
            { KlWeight = klWeight, ConsistencyWeight = consistency };
        var theta = LatentOdeModel<LatentField.Dynamics, double>.Initialize(3);
        var eps = new double[batch.Batch * Sizes.Latent];
        var rng = new Rng(9);
        for (int i = 0; i < eps.Length; i++) eps[i] = rng.NextGaussian();
        var grad = new double[theta.Length];
        var report = model.LossAndGradient(theta, batch, ref rng, grad, eps, encoded, splits);
        Assert.Equal(-report.LogLikelihood + klWeight * report.Kl + consistency * report.Consistency, report.Loss, 1e-9);
        Assert.Equal(consistency > 0, report.Consistency > 0);
        double Loss(double[] th) { var r = new Rng(1); return model.LossAndGradient(th, batch, ref r, new double[th.Length], eps, encoded, splits).Loss; }

        int[] offsets = [LatentOdeModel<LatentField.Dynamics, double>.CellOffset, LatentOdeModel<LatentField.Dynamics, double>.PosteriorOffset,
                         LatentOdeModel<LatentField.Dynamics, double>.FieldOffset, LatentOdeModel<LatentField.Dynamics, double>.DecoderOffset,
                         LatentOdeModel<LatentField.Dynamics, double>.ParameterCount];
        var pick = new Rng(4);
        for (int part = 0; part < 4; part++)
            for (int k = 0; k < 6; k++)
            {
                int i = offsets[part] + pick.NextInt(offsets[part + 1] - offsets[part]);
                double fd = CentralDifference(theta, i, Loss);
                Assert.True(Math.Abs(fd - grad[i]) <= 1e-6 * Math.Max(1, Math.Abs(fd)), $"part {part}, θ[{i}]: backprop {grad[i]}, finite differences {fd}");
            }
    }

    /// <summary>
    /// With a prefix of K observations, q(z₀) depends on those K only (changing the later ones leaves it bit for bit), the
    /// likelihood still on all n (changing a later one changes the loss); a count outside 1…n, a consistency split outside
    /// 1…n − 1 and weights out of range are refused.
    /// </summary>
    [Fact]
    public void EncoderPrefixReadsOnlyTheFirstObservationsWhileTheLikelihoodCoversAll()
    {
        var batch = TinyBatch();
        var model = new LatentOdeModel<LatentField.Dynamics, double>(OdeDsl.Sensitivity.Backprop, FixedRk4, noiseStd: 0.3);
        var theta = LatentOdeModel<LatentField.Dynamics, double>.Initialize(3);
        var x = (double[])batch.X.Clone();
        for (int b = 0; b < batch.Batch; b++) for (int i = 2; i < batch.Count; i++) x[(b * batch.Count + i) * 2] += 0.5;
        var changed = new SequenceBatch<double>(x, batch.TimeValues, batch.Batch, batch.Count);

        Assert.Equal(model.Encode(theta, batch, 2).Posterior, model.Encode(theta, changed, 2).Posterior);
        Assert.NotEqual(model.Encode(theta, batch, 3).Posterior, model.Encode(theta, changed, 3).Posterior);
        Assert.Equal(model.Encode(theta, batch).Posterior, model.Encode(theta, batch, batch.Count).Posterior);

        var eps = new double[batch.Batch * Sizes.Latent];
        var rng = new Rng(1);
        double before = model.LossAndGradient(theta, batch, ref rng, new double[theta.Length], eps, 2).Loss;
        double after = model.LossAndGradient(theta, changed, ref rng, new double[theta.Length], eps, 2).Loss;
        Assert.NotEqual(before, after);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Encode(theta, batch, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Encode(theta, batch, batch.Count + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.LossAndGradient(theta, batch, ref rng, new double[theta.Length], eps, splits: [1, 0, 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.LossAndGradient(theta, batch, ref rng, new double[theta.Length], eps, splits: [1, 1, batch.Count]));
        Assert.Throws<ArgumentException>(() => model.LossAndGradient(theta, batch, ref rng, new double[theta.Length], eps, splits: [1, 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LatentOdeModel<LatentField.Dynamics, double>(OdeDsl.Sensitivity.Backprop, FixedRk4, 0.3) { ConsistencyWeight = -1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new LatentOdeModel<LatentField.Dynamics, double>(OdeDsl.Sensitivity.Backprop, FixedRk4, 0.3) { KlWeight = 0 });
    }

    /// <summary>
    /// With a split index per trajectory the suffixes are left-padded to the longest and each row's encoder stops after its
    /// own: the consistency term and the whole gradient of the batch must be the mean of each trajectory's alone (with its
    /// own split), so padding neither leaks into a row's posterior nor into the cell's gradient. (To 1e-8, not bit for bit:
    /// the fixed-step solve of a batch also stops at the other rows' output times, which moves each row's RK4 error by
    /// ~1e-10; a leak of padding would be of the order of the terms.)
    /// </summary>
    [Fact]
    public void RaggedSplitsGiveEachTrajectoryWhatItGetsAlone()
    {
        var data = IrregularSpirals.Generate(new SpiralSettings { Spirals = 3, Observations = 4 }, seed: 7);
        var model = new LatentOdeModel<LatentField.Dynamics, double>(OdeDsl.Sensitivity.Backprop, new SolveOptions<double> { Method = Methods.Rk4, FixedStep = 0.005 }, noiseStd: 0.3) { ConsistencyWeight = 1.3 };
        var theta = LatentOdeModel<LatentField.Dynamics, double>.Initialize(3);
        int[] splits = [1, 3, 2];
        var eps = new double[3 * Sizes.Latent];
        var rng = new Rng(9);
        for (int i = 0; i < eps.Length; i++) eps[i] = rng.NextGaussian();
        var grad = new double[theta.Length];
        var report = model.LossAndGradient(theta, SequenceBatch<double>.From(data, [0, 1, 2]), ref rng, grad, eps, splits: splits);

        var sumGrad = new double[theta.Length];
        double sumConsistency = 0, sumLoss = 0;
        for (int b = 0; b < 3; b++)
        {
            var g = new double[theta.Length];
            var alone = model.LossAndGradient(theta, SequenceBatch<double>.From(data, [b]), ref rng, g, eps[(b * Sizes.Latent)..((b + 1) * Sizes.Latent)], splits: [splits[b]]);
            sumConsistency += alone.Consistency; sumLoss += alone.Loss;
            for (int i = 0; i < g.Length; i++) sumGrad[i] += g[i];
        }
        Assert.True(report.Consistency > 0);
        Assert.Equal(sumConsistency / 3, report.Consistency, 1e-8);
        Assert.Equal(sumLoss / 3, report.Loss, 1e-8);
        for (int i = 0; i < grad.Length; i++) Assert.True(Math.Abs(sumGrad[i] / 3 - grad[i]) <= 1e-8 * Math.Max(1, Math.Abs(grad[i])), $"θ[{i}]: batch {grad[i]}, mean of each alone {sumGrad[i] / 3}");
    }

    [Fact]
    public void AdjointElboGradientAgreesWithBackprop()
    {
        var batch = TinyBatch();
        var options = new SolveOptions<double> { RelTol = 1e-10, AbsTol = 1e-10 };
        var theta = LatentOdeModel<LatentField.Dynamics, double>.Initialize(5);
        var eps = new double[batch.Batch * Sizes.Latent];
        var rng = new Rng(2);
        var gBackprop = new double[theta.Length];
        var gAdjoint = new double[theta.Length];
        new LatentOdeModel<LatentField.Dynamics, double>(OdeDsl.Sensitivity.Backprop, options, 0.3).LossAndGradient(theta, batch, ref rng, gBackprop, eps);
        new LatentOdeModel<LatentField.Dynamics, double>(OdeDsl.Sensitivity.Adjoint(), options, 0.3).LossAndGradient(theta, batch, ref rng, gAdjoint, eps);
        Assert.InRange(Sensitivity.Reference.RelativeError(gAdjoint, gBackprop), 0, 1e-6);
    }

    /// <summary>
    /// With the Poisson-process likelihood of the times (state [z, Λ]): the loss's gradient against finite differences in
    /// every part of θ, the intensity network's weights (shared by dΛ/dt and the log λ(tᵢ) terms) included, and the
    /// adjoint's (per-sample stepping) against backprop's.
    /// </summary>
    [Fact]
    public void PoissonElboGradientMatchesFiniteDifferencesInEveryPart()
    {
        var data = IrregularSpirals.Generate(new SpiralSettings { Spirals = 3, Observations = 4, TimeBias = 1.5 }, seed: 7);
        var batch = SequenceBatch<double>.From(data, [0, 1, 2]);
        double end = data.GridTimes[data.Settings.Window - 1];
        var model = new LatentOdeModel<PoissonLatentField.Dynamics, double>(OdeDsl.Sensitivity.Backprop, FixedRk4, 0.3, end);
        var theta = LatentOdeModel<PoissonLatentField.Dynamics, double>.Initialize(3);
        var eps = new double[batch.Batch * Sizes.Latent];
        var rng = new Rng(9);
        for (int i = 0; i < eps.Length; i++) eps[i] = rng.NextGaussian();
        var grad = new double[theta.Length];
        var report = model.LossAndGradient(theta, batch, ref rng, grad, eps);
        Assert.True(report.TimesLogLikelihood != 0 && double.IsFinite(report.TimesLogLikelihood));
        Assert.Equal(-report.LogLikelihood - report.TimesLogLikelihood + report.Kl, report.Loss, 1e-9);
        double Loss(double[] th) { var r = new Rng(1); return model.LossAndGradient(th, batch, ref r, new double[th.Length], eps).Loss; }

        int[] offsets = [LatentOdeModel<PoissonLatentField.Dynamics, double>.CellOffset, LatentOdeModel<PoissonLatentField.Dynamics, double>.PosteriorOffset,
                         LatentOdeModel<PoissonLatentField.Dynamics, double>.FieldOffset, LatentOdeModel<PoissonLatentField.Dynamics, double>.IntensityOffset,
                         LatentOdeModel<PoissonLatentField.Dynamics, double>.DecoderOffset, LatentOdeModel<PoissonLatentField.Dynamics, double>.ParameterCount];
        var pick = new Rng(4);
        for (int part = 0; part < 5; part++)
            for (int k = 0; k < 6; k++)
            {
                int i = offsets[part] + pick.NextInt(offsets[part + 1] - offsets[part]);
                double fd = CentralDifference(theta, i, Loss);
                Assert.True(Math.Abs(fd - grad[i]) <= 1e-6 * Math.Max(1, Math.Abs(fd)), $"part {part}, θ[{i}]: backprop {grad[i]}, finite differences {fd}");
            }

        var options = new SolveOptions<double> { RelTol = 1e-10, AbsTol = 1e-10 };
        var gBackprop = new double[theta.Length];
        var gAdjoint = new double[theta.Length];
        new LatentOdeModel<PoissonLatentField.Dynamics, double>(OdeDsl.Sensitivity.Backprop, options, 0.3, end).LossAndGradient(theta, batch, ref rng, gBackprop, eps);
        new LatentOdeModel<PoissonLatentField.Dynamics, double>(OdeDsl.Sensitivity.Adjoint(), options, 0.3, end).LossAndGradient(theta, batch, ref rng, gAdjoint, eps);
        Assert.InRange(Sensitivity.Reference.RelativeError(gAdjoint, gBackprop), 0, 1e-6);
    }

    [Fact]
    public void RnnBaselineGradientMatchesFiniteDifferences()
    {
        var batch = TinyBatch();
        var model = new RnnBaseline<double>(0.3);
        var theta = RnnBaseline<double>.Initialize(8);
        var grad = new double[theta.Length];
        model.LossAndGradient(theta, batch, grad);
        double Loss(double[] th) => model.LossAndGradient(th, batch, new double[th.Length]).Loss;
        var pick = new Rng(6);
        for (int k = 0; k < 16; k++)
        {
            int i = k < 8 ? pick.NextInt(RnnBaseline<double>.HeadOffset) : RnnBaseline<double>.HeadOffset + pick.NextInt(RnnBaseline<double>.ParameterCount - RnnBaseline<double>.HeadOffset);
            double fd = CentralDifference(theta, i, Loss);
            Assert.True(Math.Abs(fd - grad[i]) <= 1e-6 * Math.Max(1, Math.Abs(fd)), $"θ[{i}]: backprop {grad[i]}, finite differences {fd}");
        }
    }

    private static double CentralDifference(double[] theta, int i, Func<double[], double> loss, double eps = 1e-6)
    {
        var t = (double[])theta.Clone();
        t[i] = theta[i] + eps; double lp = loss(t);
        t[i] = theta[i] - eps; double lm = loss(t);
        return (lp - lm) / (2 * eps);
    }
}
