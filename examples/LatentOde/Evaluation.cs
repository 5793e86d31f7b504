using OdeDsl;
using OdeDsl.Data;

namespace LatentOde;

/// <summary>
/// Predictive RMSE as reported here for Table 2: the model reads a test trajectory's n noisy observations (from the
/// observed window), predicts the Horizon grid points that follow the window (z₀ = the posterior mean for the latent ODE),
/// and the error is taken against the noise-free curve at those points, in the data's own coordinates (no normalisation):
/// RMSE = √(mean over trajectories, points and both coordinates of (x̂ − x)²). Against noise-free points because the
/// observation noise (σ = 0.3) alone would put an RMSE against noisy points above 0.3, and the paper's figures are below it.
/// The window RMSE ("reconstruction") is the same over the observed window's 100 grid points, n of which were observed:
/// Table 2's "n/100" columns; for the RNN, each point is predicted from the observations before it.
/// </summary>
public static class Evaluation
{
    public readonly record struct Scores(double ExtrapolationRmse, double ReconstructionRmse)
    {
        /// <summary>The extrapolation error split by where it is made (null where not computed).</summary>
        public HorizonSplit? Split { get; init; }
    }

    /// <summary>The extrapolation RMSE split by horizon half (how the error grows beyond the window) and by direction.</summary>
    public readonly record struct HorizonSplit(double NearRmse, double FarRmse, double ClockwiseRmse, double CounterClockwiseRmse)
    {
        public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"first half of the horizon {NearRmse:F4}, second half {FarRmse:F4}; clockwise {ClockwiseRmse:F4}, counter-clockwise {CounterClockwiseRmse:F4}");
    }

    /// <summary>Splits the horizon's squared errors; <paramref name="horizon"/> holds [trajectory, point, coordinate].</summary>
    public static HorizonSplit Split(IrregularSpirals data, ReadOnlySpan<float> horizon, int batch)
    {
        int hz = data.Settings.Horizon;
        double near = 0, far = 0, cw = 0, ccw = 0;
        long nNear = 0, nFar = 0, nCw = 0, nCcw = 0;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < hz; i++)
            {
                double e = 0;
                for (int c = 0; c < 2; c++) { double d = horizon[(b * hz + i) * 2 + c] - data.TruthHorizon[(b * hz + i) * 2 + c]; e += d * d; }
                if (2 * i < hz) { near += e; nNear++; } else { far += e; nFar++; }
                if (data.Clockwise[b]) { cw += e; nCw++; } else { ccw += e; nCcw++; }
            }
        static double Rms(double sum, long n) => n == 0 ? double.NaN : Math.Sqrt(sum / (2.0 * n));
        return new HorizonSplit(Rms(near, nNear), Rms(far, nFar), Rms(cw, nCw), Rms(ccw, nCcw));
    }

    /// <summary>The window's grid times followed by the horizon's, the same for every trajectory.</summary>
    public static SampleTimes<float> GridTimes(IrregularSpirals data, int batch)
    {
        var grid = Array.ConvertAll(data.GridTimes, t => (float)t);
        var lists = new float[batch][];
        for (int b = 0; b < batch; b++) lists[b] = grid;
        return new SampleTimes<float>(0f, lists);
    }

    public static Scores LatentOde<TDyn>(LatentOdeModel<TDyn, float> model, float[] theta, IrregularSpirals data, SequenceBatch<float> batch)
        where TDyn : IOdeDynamics<TDyn>
    {
        var z0 = model.PosteriorMean(theta, batch);
        var x = model.Decode(theta, z0, GridTimes(data, batch.Batch));
        int w = data.Settings.Window, hz = data.Settings.Horizon, g = w + hz;
        double window = 0, horizon = 0;
        for (int b = 0; b < batch.Batch; b++)
            for (int i = 0; i < g; i++)
                for (int c = 0; c < 2; c++)
                {
                    double truth = i < w ? data.TruthWindow[(b * w + i) * 2 + c] : data.TruthHorizon[(b * hz + i - w) * 2 + c];
                    double d = x[(b * g + i) * 2 + c] - truth;
                    if (i < w) window += d * d; else horizon += d * d;
                }
        var predicted = new float[batch.Batch * hz * 2];
        for (int b = 0; b < batch.Batch; b++) Array.Copy(x, (b * g + w) * 2, predicted, b * hz * 2, hz * 2);
        return new Scores(Math.Sqrt(horizon / (batch.Batch * hz * 2)), Math.Sqrt(window / (batch.Batch * w * 2))) { Split = Split(data, predicted, batch.Batch) };
    }

    public static Scores Rnn(RnnBaseline<float> model, float[] theta, IrregularSpirals data, SequenceBatch<float> batch)
    {
        int w = data.Settings.Window, hz = data.Settings.Horizon;
        var x = model.Extrapolate(theta, batch, Array.ConvertAll(data.GridTimes[w..], t => (float)t));
        var inWindow = model.PredictGrid(theta, batch, Array.ConvertAll(data.GridTimes[..w], t => (float)t));
        return new Scores(Rmse(x, data.TruthHorizon, batch.Batch * hz * 2), Rmse(inWindow, data.TruthWindow, batch.Batch * w * 2)) { Split = Split(data, x, batch.Batch) };
    }

    private static double Rmse(float[] x, double[] truth, int count)
    {
        double sum = 0;
        for (int i = 0; i < count; i++) { double d = x[i] - truth[i]; sum += d * d; }
        return Math.Sqrt(sum / count);
    }
}
