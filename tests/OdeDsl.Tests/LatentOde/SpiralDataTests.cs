using OdeDsl.Data;
using OdeDsl.Models;

namespace OdeDsl.Tests.LatentOdeExample;

/// <summary>The spiral data set (latent_ode.py's generate_spiral2d plus the observation draw) and the ELBO pieces.</summary>
public class SpiralDataTests
{
    /// <summary>TimeBias: seeded, n distinct sorted indices, drawn more often where sin φ is large
    /// (the weights exp(1.5 sin φ) make the observed points' mean sin φ clearly exceed the window's).</summary>
    [Fact]
    public void TimeBiasDrawsObservationsWhereTheWeightIsLarge()
    {
        var settings = new SpiralSettings { Spirals = 200, Observations = 30, TimeBias = 1.5 };
        var biased = IrregularSpirals.Generate(settings, seed: 1);
        Assert.Equal(biased.WindowPoints, IrregularSpirals.Generate(settings, seed: 1).WindowPoints);
        Assert.Equal(biased.ObservedIndices, IrregularSpirals.Generate(settings, seed: 1).ObservedIndices);
        double observed = 0, all = 0;
        for (int s = 0; s < biased.Count; s++)
        {
            var idx = biased.ObservedIndices[s];
            Assert.Equal(30, idx.Length);
            for (int i = 1; i < idx.Length; i++) Assert.True(idx[i] > idx[i - 1]);
            var w = IrregularSpirals.TimeWeights(settings, biased.TruthWindow.AsSpan(s * 200, 200), biased.Clockwise[s]);
            foreach (int i in idx) observed += Math.Log(w[i]) / 1.5 / (30.0 * biased.Count);
            foreach (double v in w) all += Math.Log(v) / 1.5 / (100.0 * biased.Count);
        }
        Assert.True(observed > all + 0.1, $"mean sin φ: observed {observed:F3}, window {all:F3}");
        Assert.Throws<ArgumentException>(() => IrregularSpirals.Generate(settings with { TimeBias = -1 }, seed: 1));
    }

    [Fact]
    public void SpiralsAreSeededIrregularAndOnTheCurves()
    {
        var settings = new SpiralSettings { Spirals = 200, Observations = 30 };
        var a = IrregularSpirals.Generate(settings, seed: 1);
        var b = IrregularSpirals.Generate(settings, seed: 1);
        var c = IrregularSpirals.Generate(settings, seed: 2);
        Assert.Equal(a.WindowPoints, b.WindowPoints);
        Assert.NotEqual(a.WindowPoints, c.WindowPoints);
        var (cc, cw) = IrregularSpirals.Curves(settings);
        int clockwise = 0, distinctSets = 0;
        var seen = new HashSet<string>();
        double noise = 0;
        for (int s = 0; s < a.Count; s++)
        {
            var idx = a.ObservedIndices[s];
            Assert.Equal(30, idx.Length);
            for (int i = 1; i < idx.Length; i++) Assert.True(idx[i] > idx[i - 1]);
            Assert.InRange(a.StartIndex[s], 100, 1000 - 2 * 100 - 100 + 99);   // [nsample, ntotal − 2·nsample − horizon + nsample)
            if (seen.Add(string.Join(",", idx))) distinctSets++;
            if (a.Clockwise[s]) clockwise++;
            var curve = a.Clockwise[s] ? cw : cc;
            for (int i = 0; i < 100; i++)
            {
                Assert.Equal(curve[(a.StartIndex[s] + i) * 2], a.TruthWindow[(s * 100 + i) * 2]);
                Assert.Equal(curve[(a.StartIndex[s] + 100 + i) * 2 + 1], a.TruthHorizon[(s * 100 + i) * 2 + 1]);
                double d = a.WindowPoints[(s * 100 + i) * 2] - a.TruthWindow[(s * 100 + i) * 2];
                noise += d * d;
            }
        }
        Assert.InRange(clockwise, 70, 130);                                  // Bernoulli(½) over 200: ±4.2σ
        Assert.Equal(a.Count, distinctSets);                                  // every trajectory its own times
        Assert.InRange(Math.Sqrt(noise / (a.Count * 100)), 0.28, 0.32);      // σ = 0.3
        Assert.Equal(99 * 6 * Math.PI / 999, a.GridTimes[99], 12);           // samp_ts = linspace(0, 6π, 1000)[:100]
        // Curves as the code writes them: counter-clockwise r = bθ around (5, 0), clockwise r = 50b/(6π + 1 − θ) around (−5, 0).
        double t = 6 * Math.PI * 500 / 999;
        Assert.Equal(0.3 * t * Math.Cos(t) + 5, cc[1000], 12);
        Assert.Equal(0.3 * 50 / (6 * Math.PI + 1 - t) * Math.Sin(6 * Math.PI + 1 - t), cw[1001], 12);
        Assert.Throws<ArgumentException>(() => IrregularSpirals.Generate(settings with { Observations = 101 }, 0));
        Assert.Throws<ArgumentException>(() => IrregularSpirals.Generate(settings with { Horizon = 800 }, 0));
    }

    [Fact]
    public void GaussianPiecesMatchClosedFormsAndFiniteDifferences()
    {
        double[] x = [0.3, -1.2, 2.0], mean = [0.1, -1.0, 2.5], logVar = [0.2, -0.7, 1.1];
        var gMean = new double[3];
        double ll = GaussianElbo.LogLikelihood<double>(x, mean, 0.3, gMean, 1.0);
        double expected = 0;
        for (int i = 0; i < 3; i++) expected += -0.5 * Math.Log(2 * Math.PI * 0.09) - (x[i] - mean[i]) * (x[i] - mean[i]) / (2 * 0.09);
        Assert.Equal(expected, ll, 12);
        for (int i = 0; i < 3; i++)
        {
            var mp = (double[])mean.Clone(); mp[i] += 1e-6;
            var mm = (double[])mean.Clone(); mm[i] -= 1e-6;
            double fd = (GaussianElbo.LogLikelihood<double>(x, mp, 0.3, [], 1) - GaussianElbo.LogLikelihood<double>(x, mm, 0.3, [], 1)) / 2e-6;
            Assert.Equal(fd, gMean[i], 5);
        }
        var gm = new double[3]; var gl = new double[3];
        double kl = GaussianElbo.KlToStandardNormal<double>(mean, logVar, gm, gl, 1.0);
        double klExpected = 0;
        for (int i = 0; i < 3; i++) klExpected += -0.5 * logVar[i] + (Math.Exp(logVar[i]) + mean[i] * mean[i]) / 2 - 0.5;  // the code's normal_kl vs N(0, 1)
        Assert.Equal(klExpected, kl, 12);
        for (int i = 0; i < 3; i++)
        {
            var lp = (double[])logVar.Clone(); lp[i] += 1e-6;
            var lm = (double[])logVar.Clone(); lm[i] -= 1e-6;
            double fd = (GaussianElbo.KlToStandardNormal<double>(mean, lp, [], [], 1) - GaussianElbo.KlToStandardNormal<double>(mean, lm, [], [], 1)) / 2e-6;
            Assert.Equal(fd, gl[i], 5);
            Assert.Equal(mean[i], gm[i], 12);
        }
    }
}
