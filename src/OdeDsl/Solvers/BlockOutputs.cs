using System.Numerics;

namespace OdeDsl;

/// <summary>
/// The outputs due inside one accepted lockstep step, written for the whole [batch, state] block: each is the step's
/// interpolant y + Σᵢ cᵢkᵢ (or y_{n+1} itself at the step's end). Large blocks collect a step's outputs and split them
/// over two threads (<see cref="TwoThreadLoop"/>): at 1000 output times and batch 1024 the outputs were a fifth of a
/// spiral solve's time. Small blocks are written at once. Every output gets exactly the same arithmetic either way,
/// so the split does not change a bit.
/// </summary>
internal sealed class BlockOutputs<T> : IChunkBody where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Blocks of at least this many elements are worth a second thread (about 1 µs of work per output).</summary>
    internal static int MinBlockElements = 1024;

    private readonly int _n, _slots;
    private readonly TwoThreadLoop? _loop; // null: write each output when it is added
    private readonly T[] _coef = [];       // [output due, slot]
    private readonly int[] _output = [];   // which output time each due one is
    private readonly bool[] _atEnd = [];   // due exactly at the step's end: a copy of y_{n+1}
    private readonly T[] _y, _k, _yNew, _states; // the solve's arrays: y_n, the stage slots, y_{n+1}, the result
    private int _count;

    public BlockOutputs(T[] y, T[] k, T[] yNew, T[] states, int n, int slots, int outputs)
    {
        (_y, _k, _yNew, _states) = (y, k, yNew, states);
        _n = n; _slots = slots;
        if (n < MinBlockElements || !TwoThreadLoop.Enabled) return;
        _loop = new TwoThreadLoop();
        _coef = new T[outputs * slots]; _output = new int[outputs]; _atEnd = new bool[outputs];
    }

    /// <summary>Output <paramref name="output"/> from the interpolation coefficients h·wᵢ (0 skips a slot).</summary>
    public void AddInterpolated(int output, ReadOnlySpan<T> coef)
    {
        if (_loop is null) { StageCombination.Combine<T>(_y.AsSpan(0, _n), _k, _n, 0, coef, Destination(output)); return; }
        coef.CopyTo(_coef.AsSpan(_count * _slots, _slots));
        _output[_count] = output; _atEnd[_count] = false; _count++;
    }

    public void AddAtEnd(int output)
    {
        if (_loop is null) { _yNew.AsSpan(0, _n).CopyTo(Destination(output)); return; }
        _output[_count] = output; _atEnd[_count] = true; _count++;
    }

    /// <summary>Writes what was collected since the last flush.</summary>
    public void Flush()
    {
        if (_count > 1) _loop!.Run(this, _count);
        else if (_count == 1) RunChunk(0, 0);
        _count = 0;
    }

    public void RunChunk(int chunk, int worker)
    {
        var dst = Destination(_output[chunk]);
        if (_atEnd[chunk]) _yNew.AsSpan(0, _n).CopyTo(dst);
        else StageCombination.Combine<T>(_y.AsSpan(0, _n), _k, _n, 0, _coef.AsSpan(chunk * _slots, _slots), dst);
    }

    private Span<T> Destination(int output) => _states.AsSpan(output * _n, _n);
}
