using OdeDsl.Training;

namespace OdeDsl.Data;

/// <summary>Settings of <see cref="IrregularSpirals"/>; the defaults are the values of the paper code's latent_ode.py.</summary>
public sealed record SpiralSettings
{
    public int Spirals { get; init; } = 1000;
    /// <summary>Points on each of the two underlying curves, θ ∈ [<see cref="Start"/>, <see cref="Stop"/>] (ntotal).</summary>
    public int Total { get; init; } = 1000;
    /// <summary>Grid points of the observed window, from which the observations are drawn (nsample).</summary>
    public int Window { get; init; } = 100;
    /// <summary>Observations per trajectory, drawn without replacement from the window (the paper's n ∈ {30, 50, 100}).</summary>
    public int Observations { get; init; } = 100;
    /// <summary>Grid points after the window on which predictions are scored. 0 gives the code's start range exactly.</summary>
    public int Horizon { get; init; } = 100;
    public double Start { get; init; }
    public double Stop { get; init; } = 6 * Math.PI;
    public double A { get; init; }
    public double B { get; init; } = 0.3;
    public double NoiseStd { get; init; } = 0.3;
    /// <summary>
    /// κ ≥ 0: draw the observed indices with weight exp(κ·sin φ) instead of uniformly, φ the noise-free point's angle about
    /// its spiral's centre (observed more often in the upper half of the spiral), so that the observation times carry
    /// information about the trajectory (for a Poisson-process likelihood of the times). 0 (the default) is the paper
    /// code's uniform draw, with the same random stream as before this option existed.
    /// </summary>
    public double TimeBias { get; init; }
}

/// <summary>
/// The spiral data set of Chen et al. 2018 §5.1 as the paper code builds it (latent_ode.py, generate_spiral2d):
/// over ts = linspace(start, stop, ntotal), a counter-clockwise spiral r = a + b·t centred at (+5, 0) and a clockwise one
/// r = a + 50b/(stop + 1 − t) (angle stop + 1 − t) centred at (−5, 0); each trajectory picks one of the two with
/// probability ½ (npr.rand() &gt; .5), a start index uniform in [nsample, ntotal − 2·nsample) and takes nsample consecutive
/// points, times ts[0 .. nsample) (every window starts at t = 0), with N(0, σ²) noise. Additions, for the paper's
/// experiment: <see cref="SpiralSettings.Observations"/> of the window's points drawn per trajectory without replacement
/// (irregular times, different per trajectory), and the noise-free <see cref="SpiralSettings.Horizon"/> points after the
/// window as the prediction target; the start range is cut by the horizon so that the target stays on the curve (the code's
/// range is recovered with Horizon = 0, and the clockwise curve is singular at t = stop + 1 just beyond the grid).
/// </summary>
public sealed class IrregularSpirals
{
    private IrregularSpirals(SpiralSettings settings, double[] gridTimes, bool[] clockwise, int[] startIndex,
        double[] window, double[] truthWindow, double[] truthHorizon, int[][] observed)
    {
        Settings = settings; GridTimes = gridTimes; Clockwise = clockwise; StartIndex = startIndex;
        WindowPoints = window; TruthWindow = truthWindow; TruthHorizon = truthHorizon; ObservedIndices = observed;
    }

    public SpiralSettings Settings { get; }

    /// <summary>Times of the window and horizon grid points relative to the window's start: ts[0 .. Window + Horizon).</summary>
    public double[] GridTimes { get; }

    public bool[] Clockwise { get; }

    /// <summary>Per trajectory: index of its first point on the underlying curve (t0_idx).</summary>
    public int[] StartIndex { get; }

    /// <summary>[spiral, Window, 2]: the noisy window (samp_trajs).</summary>
    public double[] WindowPoints { get; }

    /// <summary>[spiral, Window, 2]: the window without noise.</summary>
    public double[] TruthWindow { get; }

    /// <summary>[spiral, Horizon, 2]: the noise-free points after the window (the extrapolation target).</summary>
    public double[] TruthHorizon { get; }

    /// <summary>Per trajectory: the observed window indices, increasing.</summary>
    public int[][] ObservedIndices { get; }

    public int Count => Clockwise.Length;

    /// <summary>Trajectory s's observation times (GridTimes at its observed indices).</summary>
    public double[] ObservationTimes(int s) => Array.ConvertAll(ObservedIndices[s], i => GridTimes[i]);

    /// <summary>Trajectory s's noisy observations, [n, 2].</summary>
    public double[] Observations(int s)
    {
        var idx = ObservedIndices[s];
        int w = Settings.Window;
        var x = new double[idx.Length * 2];
        for (int i = 0; i < idx.Length; i++)
        {
            x[2 * i] = WindowPoints[(s * w + idx[i]) * 2];
            x[2 * i + 1] = WindowPoints[(s * w + idx[i]) * 2 + 1];
        }
        return x;
    }

    /// <summary>The two noise-free curves over the whole grid, [Total, 2] each.</summary>
    public static (double[] CounterClockwise, double[] Clockwise) Curves(SpiralSettings s)
    {
        var cc = new double[s.Total * 2];
        var cw = new double[s.Total * 2];
        for (int i = 0; i < s.Total; i++)
        {
            double t = Grid(s, i);
            double zc = t, rc = s.A + s.B * zc;
            cc[2 * i] = rc * Math.Cos(zc) + 5; cc[2 * i + 1] = rc * Math.Sin(zc);
            double zw = s.Stop + 1 - t, rw = s.A + s.B * 50 / zw;
            cw[2 * i] = rw * Math.Cos(zw) - 5; cw[2 * i + 1] = rw * Math.Sin(zw);
        }
        return (cc, cw);
    }

    private static double Grid(SpiralSettings s, int i) => s.Start + (s.Stop - s.Start) * i / (s.Total - 1);

    /// <summary>Builds the data set; the same settings and seed give the same data on every machine.</summary>
    public static IrregularSpirals Generate(SpiralSettings settings, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(settings);
        int w = settings.Window, hz = settings.Horizon, total = settings.Total;
        if (settings.Spirals < 1) throw new ArgumentException($"Spirals must be positive; it is {settings.Spirals}.", nameof(settings));
        if (w < 1 || hz < 0) throw new ArgumentException($"Window must be positive and Horizon ≥ 0; they are {w} and {hz}.", nameof(settings));
        if (settings.Observations < 1 || settings.Observations > w)
            throw new ArgumentException($"Observations must lie in [1, Window = {w}]; it is {settings.Observations}.", nameof(settings));
        int starts = total - 2 * w - hz; // code: t0_idx uniform over ntotal − 2·nsample values from nsample; the horizon cuts the top
        if (starts < 1) throw new ArgumentException($"Total = {total} leaves no start index for Window = {w} and Horizon = {hz} (needs Total > 2·Window + Horizon).", nameof(settings));
        if (!(settings.NoiseStd >= 0)) throw new ArgumentException($"NoiseStd must be ≥ 0; it is {settings.NoiseStd}.", nameof(settings));
        if (!(settings.TimeBias >= 0) || !double.IsFinite(settings.TimeBias)) throw new ArgumentException($"TimeBias must be finite and ≥ 0; it is {settings.TimeBias}.", nameof(settings));

        var (cc, cwCurve) = Curves(settings);
        var grid = new double[w + hz];
        for (int i = 0; i < grid.Length; i++) grid[i] = Grid(settings, i) - settings.Start;
        int n = settings.Spirals;
        var clockwise = new bool[n];
        var start = new int[n];
        var window = new double[n * w * 2];
        var truthWindow = new double[n * w * 2];
        var truthHorizon = new double[n * hz * 2];
        var observed = new int[n][];
        var rng = new Rng(seed);
        var order = new int[w];
        for (int s = 0; s < n; s++)
        {
            start[s] = rng.NextInt(starts) + w;
            clockwise[s] = !(rng.NextDouble() > 0.5);   // the code's cc = npr.rand() > .5
            var curve = clockwise[s] ? cwCurve : cc;
            for (int i = 0; i < w; i++)
                for (int c = 0; c < 2; c++)
                {
                    double v = curve[(start[s] + i) * 2 + c];
                    truthWindow[(s * w + i) * 2 + c] = v;
                    window[(s * w + i) * 2 + c] = v + settings.NoiseStd * rng.NextGaussian();
                }
            for (int i = 0; i < hz; i++)
                for (int c = 0; c < 2; c++) truthHorizon[(s * hz + i) * 2 + c] = curve[(start[s] + w + i) * 2 + c];
            if (settings.TimeBias > 0)
            {
                observed[s] = WeightedIndices(settings, truthWindow.AsSpan(s * w * 2, w * 2), clockwise[s], ref rng);
                continue;
            }
            // n of the window's indices without replacement: a partial Fisher–Yates shuffle, then sorted.
            for (int i = 0; i < w; i++) order[i] = i;
            for (int i = 0; i < settings.Observations; i++)
            {
                int j = i + rng.NextInt(w - i);
                (order[i], order[j]) = (order[j], order[i]);
            }
            observed[s] = order[..settings.Observations];
            Array.Sort(observed[s]);
        }
        return new IrregularSpirals(settings, grid, clockwise, start, window, truthWindow, truthHorizon, observed);
    }

    /// <summary>The sampling weight exp(κ·sin φ) of each window point (φ its angle about its spiral's centre, ±5 on the x axis).</summary>
    public static double[] TimeWeights(SpiralSettings settings, ReadOnlySpan<double> truthWindow, bool clockwise)
    {
        var weights = new double[truthWindow.Length / 2];
        double centre = clockwise ? -5 : 5;
        for (int i = 0; i < weights.Length; i++)
        {
            double dx = truthWindow[2 * i] - centre, dy = truthWindow[2 * i + 1];
            weights[i] = Math.Exp(settings.TimeBias * dy / Math.Sqrt(dx * dx + dy * dy));
        }
        return weights;
    }

    /// <summary>n indices without replacement with probabilities ∝ the weights (Efraimidis &amp; Spirakis 2006: the n
    /// largest keys u^(1/w), u uniform), sorted.</summary>
    private static int[] WeightedIndices(SpiralSettings settings, ReadOnlySpan<double> truthWindow, bool clockwise, ref Rng rng)
    {
        var weights = TimeWeights(settings, truthWindow, clockwise);
        var keys = new double[weights.Length];
        var index = new int[weights.Length];
        for (int i = 0; i < keys.Length; i++) { keys[i] = -Math.Log(1 - rng.NextDouble()) / weights[i]; index[i] = i; }   // −log u / w: the smallest n
        Array.Sort(keys, index);
        var chosen = index[..settings.Observations];
        Array.Sort(chosen);
        return chosen;
    }
}
