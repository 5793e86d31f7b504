using System.Numerics;

namespace OdeDsl;

/// <summary>
/// The continuous solution of a shared-step solve: per accepted step its start, size, start state and stage
/// derivatives, evaluated with the tableau's interpolation weights (<see cref="ButcherTableau.InterpolationWeights"/>).
/// </summary>
public sealed class DenseOutput<T> : IStepStages<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly ButcherTableau _tableau;
    private readonly int _n, _slots;
    private T[] _t = new T[16], _h = new T[16], _y, _k;
    private readonly double[] _w;

    internal DenseOutput(ButcherTableau tableau, int n)
    {
        _tableau = tableau; _n = n; _slots = tableau.DenseSlots;
        _y = new T[16 * n]; _k = new T[16 * n * _slots]; _w = new double[_slots];
    }

    public int StepCount { get; private set; }
    public int Length => _n;

    // What backprop reads instead of replaying the steps: y_n and the stage slots of step j.
    int IStepStages<T>.Count => StepCount;
    int IStepStages<T>.Stages => _slots;
    ReadOnlySpan<T> IStepStages<T>.Y(int j) => _y.AsSpan(j * _n, _n);
    ReadOnlySpan<T> IStepStages<T>.K(int j) => _k.AsSpan(j * _n * _slots, _n * _slots);

    internal void Add(T t, T h, ReadOnlySpan<T> y, ReadOnlySpan<T> k)
    {
        if (StepCount == _t.Length)
        {
            int cap = 2 * StepCount;
            Array.Resize(ref _t, cap); Array.Resize(ref _h, cap);
            Array.Resize(ref _y, cap * _n); Array.Resize(ref _k, cap * _n * _slots);
        }
        _t[StepCount] = t; _h[StepCount] = h;
        y.CopyTo(_y.AsSpan(StepCount * _n, _n));
        k.CopyTo(_k.AsSpan(StepCount * _n * _slots, _n * _slots));
        StepCount++;
    }

    /// <summary>y (all rows) at time t; t must lie within the integrated interval.</summary>
    public void Evaluate(T t, Span<T> y)
    {
        if (y.Length != _n) throw new ArgumentException($"y needs {_n} elements.", nameof(y));
        if (StepCount == 0) throw new InvalidOperationException("No step was taken.");
        bool forward = _h[0] > T.Zero;
        T start = _t[0], end = _t[StepCount - 1] + _h[StepCount - 1];
        if (forward ? (t < start || t > end) : (t > start || t < end))
            throw new ArgumentOutOfRangeException(nameof(t), $"t = {t} is outside the integrated interval [{start}, {end}].");
        // Last step whose start is not beyond t (binary search on the monotone starts).
        int lo = 0, hi = StepCount - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) / 2;
            if (forward ? _t[mid] <= t : _t[mid] >= t) lo = mid; else hi = mid - 1;
        }
        T h = _h[lo];
        double theta = h == T.Zero ? 0 : double.CreateChecked((t - _t[lo]) / h);
        _tableau.InterpolationWeights(Math.Clamp(theta, 0, 1), _w);
        var y0 = _y.AsSpan(lo * _n, _n);
        var k = _k.AsSpan(lo * _n * _slots, _n * _slots);
        y0.CopyTo(y);
        for (int i = 0; i < _slots; i++)
        {
            if (_w[i] == 0) continue;
            T c = h * T.CreateChecked(_w[i]);
            var ki = k.Slice(i * _n, _n);
            for (int j = 0; j < _n; j++) y[j] += c * ki[j];
        }
    }
}
