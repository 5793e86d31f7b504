using System.Numerics;

namespace OdeDsl.Tensors;

/// <summary>
/// One <see cref="Conv2d"/> call's sample groups in two halves, run on the calling thread and one pool thread
/// (<see cref="TwoThreadLoop"/>). Forward and BackwardInput write disjoint samples, so either half may run anywhere;
/// BackwardWeight sums each half into its own buffers and the caller adds half 0, then half 1, so the result repeats bit
/// for bit whichever thread ran which half. The pool thread's im2col scratch and the sums are kept per calling thread
/// and grown on demand: nothing is allocated per call once they fit.
/// </summary>
internal sealed unsafe class Conv2dSplit<T> : IChunkBody where T : unmanaged, IFloatingPointIeee754<T>
{
    public enum Op { Forward, BackwardInput, BackwardWeight }

    /// <summary>Split only from this many multiply-adds per call (as GemmParallel.MinProduct): below it the hand-off costs more than it saves.</summary>
    internal static long MinProduct = 1L << 21;

    [ThreadStatic] private static Conv2dSplit<T>? t_split;

    /// <summary>Calls that took the split on this thread (for the tests).</summary>
    [ThreadStatic] internal static int SplitCalls;

    private readonly TwoThreadLoop _loop = new();
    private T[] _scratch1 = [];
    private readonly T[][] _sums = [[], []], _sumBias = [[], []];
    private Op _op;
    private Conv2dShape _s;
    private T* _x, _w, _bias, _out, _scratch0;
    private int _groups;

    public static Conv2dSplit<T> ForThisThread() => t_split ??= new Conv2dSplit<T>();

    /// <summary>Whether a call over <paramref name="groups"/> sample groups of <paramref name="s"/> takes two threads.</summary>
    public static bool ShouldSplit(in Conv2dShape s, int groups) =>
        groups >= 2 && TwoThreadLoop.Enabled && !GemmParallel.SuppressedOnThisThread
        && (long)s.Batch * s.OutSpatial * s.OutChannels * s.PatchSize >= MinProduct;

    /// <summary>
    /// Forward: x = input, w = weight, bias (null: none), out = output. BackwardInput: x = gradOutput, w = weight,
    /// out = gradInput. BackwardWeight: x = input, w = gradOutput, bias = gradBias (null: none), out = gradWeight.
    /// <paramref name="scratch0"/> is the caller's scratch (ScratchLength elements), used by the calling thread.
    /// </summary>
    public void Run(Op op, in Conv2dShape s, T* x, T* w, T* bias, T* output, T* scratch0, int groups)
    {
        if (_scratch1.Length < s.ScratchLength) _scratch1 = GC.AllocateUninitializedArray<T>(s.ScratchLength, pinned: true);
        if (op == Op.BackwardWeight)
            for (int h = 0; h < 2; h++)
            {
                if (_sums[h].Length < s.PatchSize * s.OutChannels) _sums[h] = new T[s.PatchSize * s.OutChannels];
                if (_sumBias[h].Length < s.OutChannels) _sumBias[h] = new T[s.OutChannels];
            }
        SplitCalls++;
        (_op, _s, _groups) = (op, s, groups);
        _x = x; _w = w; _bias = bias; _out = output; _scratch0 = scratch0;
        try
        {
            _loop.Run(this, 2);
            if (op == Op.BackwardWeight)
            {
                var gradWeight = new Span<T>(output, s.WeightLength);
                var gradBias = bias == null ? Span<T>.Empty : new Span<T>(bias, s.OutChannels);
                for (int h = 0; h < 2; h++)
                    Conv2d.AddWeightSums(s, _sums[h].AsSpan(0, s.PatchSize * s.OutChannels), _sumBias[h].AsSpan(0, s.OutChannels), gradWeight, gradBias);
            }
        }
        finally { _x = _w = _bias = _out = _scratch0 = null; }
    }

    public void RunChunk(int chunk, int worker)
    {
        var s = _s;
        int half = (_groups + 1) / 2, first = chunk == 0 ? 0 : half, last = chunk == 0 ? half : _groups;
        var scratch = worker == 0 ? new Span<T>(_scratch0, s.ScratchLength) : _scratch1.AsSpan(0, s.ScratchLength);
        switch (_op)
        {
            case Op.Forward:
                Conv2d.ForwardGroups(s, new ReadOnlySpan<T>(_x, s.InputLength), new ReadOnlySpan<T>(_w, s.WeightLength),
                    _bias == null ? ReadOnlySpan<T>.Empty : new ReadOnlySpan<T>(_bias, s.OutChannels), new Span<T>(_out, s.OutputLength), scratch, first, last);
                break;
            case Op.BackwardInput:
                Conv2d.BackwardInputGroups(s, new ReadOnlySpan<T>(_x, s.OutputLength), new ReadOnlySpan<T>(_w, s.WeightLength),
                    new Span<T>(_out, s.InputLength), scratch, first, last);
                break;
            default:
                Conv2d.BackwardWeightGroups(s, new ReadOnlySpan<T>(_x, s.InputLength), new ReadOnlySpan<T>(_w, s.OutputLength),
                    _sums[chunk].AsSpan(0, s.PatchSize * s.OutChannels), _bias == null ? Span<T>.Empty : _sumBias[chunk].AsSpan(0, s.OutChannels),
                    scratch, first, last);
                break;
        }
    }
}
