using System.Numerics;

namespace OdeDsl;

/// <summary>
/// Output times of a batch in which every sample has its own: a common start t₀ (where y₀ is given) and, per sample, a
/// strictly increasing list of times ≥ t₀, of any length (zero included). Stored ragged: the lists concatenated in
/// sample order, with <see cref="Offset"/>(b) the first entry of sample b. Outputs and loss cotangents of a per-sample
/// solve use the same order, [<see cref="Count"/>, StateSize].
/// </summary>
public sealed class SampleTimes<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _times;
    private readonly int[] _offsets;
    private readonly int[] _sample;

    /// <param name="start">t₀, shared by the batch.</param>
    /// <param name="perSample">One list per sample, each strictly increasing and ≥ <paramref name="start"/>.</param>
    public SampleTimes(T start, IReadOnlyList<T[]> perSample)
    {
        ArgumentNullException.ThrowIfNull(perSample);
        if (perSample.Count == 0) throw new ArgumentException("At least one sample is needed.", nameof(perSample));
        if (!T.IsFinite(start)) throw new ArgumentException($"start must be finite; it is {start}.", nameof(start));
        _offsets = new int[perSample.Count + 1];
        for (int b = 0; b < perSample.Count; b++)
        {
            var list = perSample[b] ?? throw new ArgumentException($"The time list of sample {b} is null.", nameof(perSample));
            _offsets[b + 1] = _offsets[b] + list.Length;
        }
        _times = new T[_offsets[^1]];
        _sample = new int[_times.Length];
        End = start;
        for (int b = 0; b < perSample.Count; b++)
        {
            var list = perSample[b];
            for (int i = 0; i < list.Length; i++)
            {
                T t = list[i];
                if (!T.IsFinite(t)) throw new ArgumentException($"Sample {b}'s time {i} is not finite.", nameof(perSample));
                if (t < start)
                    throw new ArgumentException($"Sample {b}'s time {i} = {t} lies before the start {start}; per-sample times run forward from t₀.", nameof(perSample));
                if (i > 0 && t <= list[i - 1])
                    throw new ArgumentException($"Sample {b}'s times must be strictly increasing; time {i - 1} = {list[i - 1]}, time {i} = {t}.", nameof(perSample));
                _times[_offsets[b] + i] = t;
                _sample[_offsets[b] + i] = b;
            }
            if (list.Length > 0 && list[^1] > End) End = list[^1];
        }
        Start = start;
    }

    /// <summary>t₀.</summary>
    public T Start { get; }

    /// <summary>The latest time of any sample (t₀ when there is none after it): the shared solve runs to here.</summary>
    public T End { get; }

    public int Batch => _offsets.Length - 1;

    /// <summary>Number of outputs over all samples.</summary>
    public int Count => _times.Length;

    /// <summary>Index of sample b's first output in the ragged order.</summary>
    public int Offset(int sample) => _offsets[sample];

    /// <summary>Sample b's times.</summary>
    public ReadOnlySpan<T> Of(int sample) => _times.AsSpan(_offsets[sample], _offsets[sample + 1] - _offsets[sample]);

    /// <summary>All times in the ragged order.</summary>
    public ReadOnlySpan<T> All => _times;

    /// <summary>The sample output <paramref name="output"/> (ragged index) belongs to.</summary>
    public int SampleOf(int output) => _sample[output];
}
