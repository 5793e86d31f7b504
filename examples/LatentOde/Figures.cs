using OdeDsl;
using OdeDsl.Data;
using OdeDsl.Plotting;
using OdeDsl.Training;

namespace LatentOde;

/// <summary>
/// The paper's spiral figures from a trained latent ODE (and the RNN of the same n when it was trained): reconstruction
/// and extrapolation of test spirals (Fig. 8), the latent trajectories (Fig. 9a) and the decoded interpolation between the
/// z₀ of a clockwise and a counter-clockwise spiral (Fig. 9b).
/// </summary>
public static class Figures
{
    public static IReadOnlyList<string> Write(RunSettings s) => s.Poisson ? [.. Write<PoissonLatentField.Dynamics>(s), WriteIntensity(s)]
        : s.Field == "deep" ? Write<DeepLatentField.Dynamics>(s) : Write<LatentField.Dynamics>(s);

    /// <summary>
    /// Figure 7: the inferred intensity λ(z(t)) over the window and the horizon for four test trajectories (z₀ = the posterior
    /// mean), with the observation times, and the data's sampling weight exp(κ·sin φ(t)) scaled so that its integral over
    /// the window is n (what the intensity should approach: n of the window's points are drawn with probabilities ∝ it).
    /// </summary>
    private static string WriteIntensity(RunSettings s)
    {
        var (train, test) = s.Data();
        var model = Trainer.Model<PoissonLatentField.Dynamics>(s, train);
        var theta = Load(Path.Combine(s.RunDir, "checkpoint.bin"), LatentOdeModel<PoissonLatentField.Dynamics, float>.ParameterCount);
        var picks = Enumerable.Range(0, test.Count).Where(i => test.Clockwise[i]).Take(2)
            .Concat(Enumerable.Range(0, test.Count).Where(i => !test.Clockwise[i]).Take(2)).ToArray();
        var batch = SequenceBatch<float>.From(test, picks);
        var z0 = model.PosteriorMean(theta, batch);
        int w = test.Settings.Window, g = w + test.Settings.Horizon;
        var lambda = model.IntensityPath(theta, z0, Evaluation.GridTimes(test, picks.Length));
        double dt = test.GridTimes[1] - test.GridTimes[0];
        var panels = new List<SvgPlot>();
        for (int p = 0; p < picks.Length; p++)
        {
            int sIdx = picks[p];
            var plot = new SvgPlot($"test trajectory {sIdx} ({(test.Clockwise[sIdx] ? "clockwise" : "counter-clockwise")}), n = {s.Observations}", "t", "λ(t)");
            plot.Line("inferred intensity λ(z(t))", test.GridTimes, ToDouble(lambda.AsSpan(p * g, g)), "#1f77b4");
            var weights = IrregularSpirals.TimeWeights(test.Settings, test.TruthWindow.AsSpan(sIdx * w * 2, w * 2), test.Clockwise[sIdx]);
            double norm = s.Observations / (weights.Sum() * dt);
            plot.Line("sampling weight, ∫ = n over the window", test.GridTimes[..w], weights.Select(v => v * norm).ToArray(), "#999999", dashed: true);
            var obs = test.ObservationTimes(sIdx);
            plot.Scatter("observation times", obs, new double[obs.Length], "#d62728");
            panels.Add(plot);
        }
        string path = Path.Combine(s.RunDir, "fig7-poisson-intensity.svg");
        SvgFigure.Save(path, [.. panels]);
        TimesScore(model, theta, test);
        return path;
    }

    /// <summary>
    /// Prints how much the inferred intensity knows about the test trajectories' observation times: the mean per trajectory
    /// of Σᵢ log λ(tᵢ) − ∫λ dt (the integral by the trapezoid rule on the window's grid, where the observations lie)
    /// against the best constant intensity n/T (n·log(n/T) − n), and the mean correlation over the window of log λ(t)
    /// with the log sampling weight κ·sin φ(t).
    /// </summary>
    private static void TimesScore(LatentOdeModel<PoissonLatentField.Dynamics, float> model, float[] theta, IrregularSpirals test)
    {
        var all = SequenceBatch<float>.From(test, Enumerable.Range(0, test.Count).ToArray());
        int w = test.Settings.Window, g = w + test.Settings.Horizon, n = test.Settings.Observations;
        var lambda = model.IntensityPath(theta, model.PosteriorMean(theta, all), Evaluation.GridTimes(test, test.Count));
        double T = test.GridTimes[w - 1], dt = test.GridTimes[1] - test.GridTimes[0], ll = 0, corr = 0;
        for (int b = 0; b < test.Count; b++)
        {
            var logL = new double[w];
            double integral = 0;
            for (int i = 0; i < w; i++)
            {
                logL[i] = Math.Log(lambda[b * g + i]);
                if (i > 0) integral += 0.5 * dt * (lambda[b * g + i - 1] + lambda[b * g + i]);
            }
            foreach (int i in test.ObservedIndices[b]) ll += logL[i];
            ll -= integral;
            var logW = IrregularSpirals.TimeWeights(test.Settings, test.TruthWindow.AsSpan(b * w * 2, w * 2), test.Clockwise[b]).Select(v => Math.Log(v)).ToArray();
            corr += Correlation(logL, logW);
        }
        Console.WriteLine($"Poisson times, {test.Count} test trajectories: mean log-likelihood {ll / test.Count:F3} (constant intensity n/T: {n * Math.Log(n / T) - n:F3}); " +
                          $"mean correlation of log λ(t) with the log sampling weight over the window {corr / test.Count:F3}");
    }

    private static double Correlation(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Length; i++) { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) * (x[i] - mx); syy += (y[i] - my) * (y[i] - my); }
        return sxx > 0 && syy > 0 ? sxy / Math.Sqrt(sxx * syy) : 0;
    }

    private static IReadOnlyList<string> Write<TDyn>(RunSettings s) where TDyn : IOdeDynamics<TDyn>
    {
        var (train, test) = s.Data();
        var model = Trainer.Model<TDyn>(s, train);
        var theta = Load(Path.Combine(s.RunDir, "checkpoint.bin"), LatentOdeModel<TDyn, float>.ParameterCount);
        var rnnSettings = s with { Model = "rnn" };
        string rnnCheckpoint = Path.Combine(rnnSettings.RunDir, "checkpoint.bin");
        var rnnTheta = File.Exists(rnnCheckpoint) ? Load(rnnCheckpoint, RnnBaseline<float>.ParameterCount) : null;

        // Two clockwise and two counter-clockwise test spirals.
        var picks = Enumerable.Range(0, test.Count).Where(i => test.Clockwise[i]).Take(2)
            .Concat(Enumerable.Range(0, test.Count).Where(i => !test.Clockwise[i]).Take(2)).ToArray();
        var batch = SequenceBatch<float>.From(test, picks);
        var z0 = model.PosteriorMean(theta, batch);
        int w = test.Settings.Window, hz = test.Settings.Horizon, g = w + hz;
        var x = model.Decode(theta, z0, Evaluation.GridTimes(test, picks.Length));
        var rnnModel = new RnnBaseline<float>(test.Settings.NoiseStd);
        var rnn = rnnTheta is null ? null : rnnModel.Extrapolate(rnnTheta, batch, Array.ConvertAll(test.GridTimes[w..], t => (float)t));
        var rnnWindow = rnnTheta is null ? null : rnnModel.PredictGrid(rnnTheta, batch, Array.ConvertAll(test.GridTimes[..w], t => (float)t));
        var panels = new List<SvgPlot>();
        for (int p = 0; p < picks.Length; p++)
        {
            int sIdx = picks[p];
            var plot = new SvgPlot($"test spiral {sIdx} ({(test.Clockwise[sIdx] ? "clockwise" : "counter-clockwise")}), n = {s.Observations}", "x", "y");
            var (tx, ty) = Split(test.TruthWindow.AsSpan(sIdx * w * 2, w * 2));
            var (hx, hy) = Split(test.TruthHorizon.AsSpan(sIdx * hz * 2, hz * 2));
            plot.Line("truth (window)", tx, ty, "#999999").Line("truth (after)", hx, hy, "#999999", dashed: true);
            var (ox, oy) = Split(test.Observations(sIdx));
            plot.Scatter("observations", ox, oy, "#444444");
            var (rx, ry) = Split(ToDouble(x.AsSpan(p * g * 2, w * 2)));
            var (ex, ey) = Split(ToDouble(x.AsSpan((p * g + w) * 2, hz * 2)));
            plot.Line("latent ODE reconstruction", rx, ry, "#1f77b4").Line("latent ODE extrapolation", ex, ey, "#d62728");
            if (rnn is not null && rnnWindow is not null)
            {
                var (wx, wy) = Split(ToDouble(rnnWindow.AsSpan(p * w * 2, w * 2)));
                plot.Line("RNN (window)", wx, wy, "#9467bd");
                var (nx, ny) = Split(ToDouble(rnn.AsSpan(p * hz * 2, hz * 2)));
                plot.Line("RNN extrapolation", nx, ny, "#2ca02c", dashed: true);
            }
            panels.Add(plot);
        }
        Directory.CreateDirectory(s.RunDir);
        string fig8 = Path.Combine(s.RunDir, "fig8-reconstruction-extrapolation.svg");
        SvgFigure.Save(fig8, [.. panels]);

        // Latent trajectories of 20 test spirals over the window and the horizon, two projections.
        int count = Math.Min(20, test.Count);
        var all = SequenceBatch<float>.From(test, Enumerable.Range(0, count).ToArray());
        var z0All = model.PosteriorMean(theta, all);
        var fieldTheta = theta.AsSpan(LatentOdeModel<TDyn, float>.FieldOffset, TDyn.ParameterCount).ToArray();
        var path = model.LatentPath(fieldTheta, z0All, Evaluation.GridTimes(test, count));
        var z01 = new SvgPlot("latent trajectories z₁, z₂ (red: clockwise)", "z₁", "z₂");
        var z23 = new SvgPlot("latent trajectories z₃, z₄", "z₃", "z₄");
        for (int b = 0; b < count; b++)
        {
            var za = new double[g]; var zb = new double[g]; var zc = new double[g]; var zd = new double[g];
            for (int i = 0; i < g; i++)
            {
                int o = (b * g + i) * Sizes.Latent;
                za[i] = path[o]; zb[i] = path[o + 1]; zc[i] = path[o + 2]; zd[i] = path[o + 3];
            }
            string color = test.Clockwise[b] ? "#d62728" : "#1f77b4";
            z01.Line(b == 0 ? "z(t)" : "", za, zb, color);
            z23.Line(b == 0 ? "z(t)" : "", zc, zd, color);
        }
        string fig9a = Path.Combine(s.RunDir, "fig9-latent-trajectories.svg");
        SvgFigure.Save(fig9a, z01, z23);

        // Decoded trajectories from z₀ on the segment between a clockwise and a counter-clockwise spiral's z₀.
        var zCw = z0.AsSpan(0, Sizes.Latent).ToArray();
        var zCc = z0.AsSpan(2 * Sizes.Latent, Sizes.Latent).ToArray();
        float[] alphas = [0f, 0.25f, 0.5f, 0.75f, 1f];
        var zMix = new float[alphas.Length * Sizes.Latent];
        for (int a = 0; a < alphas.Length; a++)
            for (int k = 0; k < Sizes.Latent; k++) zMix[a * Sizes.Latent + k] = (1 - alphas[a]) * zCw[k] + alphas[a] * zCc[k];
        var mixed = model.Decode(theta, zMix, Evaluation.GridTimes(test, alphas.Length));
        var interp = new SvgPlot("decoded z₀ = (1 − α)·z₀(clockwise) + α·z₀(counter-clockwise)", "x", "y");
        string[] colors = ["#d62728", "#ff7f0e", "#7f7f7f", "#17becf", "#1f77b4"];
        for (int a = 0; a < alphas.Length; a++)
        {
            var (mx, my) = Split(ToDouble(mixed.AsSpan(a * g * 2, g * 2)));
            interp.Line($"α = {alphas[a]:F2}", mx, my, colors[a]);
        }
        string fig9b = Path.Combine(s.RunDir, "fig9-interpolation.svg");
        SvgFigure.Save(fig9b, interp);
        return [fig8, fig9a, fig9b];
    }

    private static float[] Load(string path, int count)
    {
        var theta = new float[count];
        Checkpoint.Load<float>(path, theta, new Adam<float>(count));
        return theta;
    }

    private static double[] ToDouble(ReadOnlySpan<float> x)
    {
        var d = new double[x.Length];
        for (int i = 0; i < x.Length; i++) d[i] = x[i];
        return d;
    }

    private static (double[] X, double[] Y) Split(ReadOnlySpan<double> xy)
    {
        var x = new double[xy.Length / 2]; var y = new double[xy.Length / 2];
        for (int i = 0; i < x.Length; i++) { x[i] = xy[2 * i]; y[i] = xy[2 * i + 1]; }
        return (x, y);
    }
}
