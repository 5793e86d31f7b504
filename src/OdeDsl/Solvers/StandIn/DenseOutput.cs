using System.Numerics;

namespace OdeDsl;

/// <summary>The accepted steps of a shared-step solve: start times and signed sizes (<see cref="SolveOptions{T}.RecordSteps"/>).</summary>
public sealed class StepRecord<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal List<T> Starts { get; } = [];
    internal List<T> SizeList { get; } = [];

    public int Count => Starts.Count;
    public IReadOnlyList<T> StartTimes => Starts;
    public IReadOnlyList<T> Sizes => SizeList;
}

/// <summary>Every accepted step's start state and stages, so the solution can be evaluated anywhere in its span.</summary>
internal sealed class DenseOutput<T>(RkScheme<T> scheme) : IStepStages<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly List<(T Start, T Size, T[] Y, T[] K)> _steps = [];
    private readonly T[] _w = new T[scheme.Stages], _dw = new T[scheme.Stages];

    public int Count => _steps.Count;
    public int Stages => scheme.Stages;
    public ReadOnlySpan<T> Y(int j) => _steps[j].Y;
    public ReadOnlySpan<T> K(int j) => _steps[j].K;

    public void Add(T start, T size, ReadOnlySpan<T> y, ReadOnlySpan<T> k) => _steps.Add((start, size, y.ToArray(), k.ToArray()));

    /// <summary>y(t) from the step that contains t; before the first or past the last step that step's polynomial extrapolates.</summary>
    public void Evaluate(T t, Span<T> y)
    {
        if (_steps.Count == 0) throw new InvalidOperationException("The solve kept no dense output (no steps were taken).");
        int lo = 0, hi = _steps.Count - 1;
        while (lo < hi)   // the last step whose start is not after t (in the direction of integration)
        {
            int mid = (lo + hi + 1) / 2;
            var s = _steps[mid];
            if ((s.Size > T.Zero ? t - s.Start : s.Start - t) >= T.Zero) lo = mid; else hi = mid - 1;
        }
        var (start, size, y0, k) = _steps[lo];
        scheme.InterpolationWeights((t - start) / size, _w, _dw);
        y0.CopyTo(y);
        int n = y.Length;
        for (int i = 0; i < scheme.Stages; i++)
        {
            T hw = size * _w[i];
            if (hw == T.Zero) continue;
            ReadOnlySpan<T> ki = k.AsSpan(i * n, n);
            for (int q = 0; q < n; q++) y[q] += hw * ki[q];
        }
    }
}
