using System.Numerics;
using OdeDsl;
using OdeDsl.Data;

namespace LatentOde;

/// <summary>
/// A batch of irregularly observed trajectories with the same number of observations each (n), at times that differ
/// per trajectory: X [batch, n, 2], TimeValues [batch, n], and the same times as <see cref="SampleTimes{T}"/> from t = 0
/// (where z₀ lives) for the per-sample ODE solve.
/// </summary>
public sealed class SequenceBatch<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public SequenceBatch(T[] x, T[] timeValues, int batch, int count)
    {
        if (x.Length != batch * count * Sizes.Observed) throw new ArgumentException($"x needs batch × n × 2 = {batch * count * Sizes.Observed} values; it has {x.Length}.", nameof(x));
        if (timeValues.Length != batch * count) throw new ArgumentException($"timeValues needs batch × n = {batch * count} values; it has {timeValues.Length}.", nameof(timeValues));
        X = x; TimeValues = timeValues; Batch = batch; Count = count;
        var lists = new T[batch][];
        for (int b = 0; b < batch; b++) lists[b] = timeValues.AsSpan(b * count, count).ToArray();
        Times = new SampleTimes<T>(T.Zero, lists);
    }

    public int Batch { get; }
    /// <summary>Observations per trajectory.</summary>
    public int Count { get; }
    public T[] X { get; }
    public T[] TimeValues { get; }
    public SampleTimes<T> Times { get; }

    /// <summary>The observations of the given trajectories of a spiral data set.</summary>
    public static SequenceBatch<T> From(IrregularSpirals data, ReadOnlySpan<int> trajectories)
    {
        int n = data.Settings.Observations, batch = trajectories.Length;
        var x = new T[batch * n * Sizes.Observed];
        var t = new T[batch * n];
        for (int b = 0; b < batch; b++)
        {
            int s = trajectories[b];
            var obs = data.Observations(s);
            var times = data.ObservationTimes(s);
            for (int i = 0; i < n; i++)
            {
                t[b * n + i] = T.CreateChecked(times[i]);
                x[(b * n + i) * 2] = T.CreateChecked(obs[2 * i]);
                x[(b * n + i) * 2 + 1] = T.CreateChecked(obs[2 * i + 1]);
            }
        }
        return new SequenceBatch<T>(x, t, batch, n);
    }
}
