using System.Numerics;
using System.Numerics.Tensors;

namespace OdeDsl.Tensors;

/// <summary>
/// ReLU (forward and backward) and GroupNorm (forward and backward) calls over at least <see cref="MinElements"/> elements
/// made outside a two-thread section, split in two halves run on the calling thread and one pool thread
/// (<see cref="TwoThreadLoop"/>), as <see cref="Conv2dSplit{T}"/> does for the convolutions: the ODE-Net's downsampling
/// layers run them on the whole batch (5.5 M elements at 64×26×26 and batch 128), where they kept one core idle. Inside
/// the solver's chunks (already one per core) nothing changes.
/// </summary>
/// <remarks>
/// The halves are element ranges (ReLU) or sample ranges (GroupNorm), whose results do not depend on the split; GroupNorm's
/// γ/β gradients, sums over the batch, are first written per sample and then added in sample order on the calling thread,
/// the serial kernel's order: every result equals the one-thread call's bit for bit. Nothing is allocated per call once
/// the per-thread buffers fit.
/// </remarks>
internal sealed unsafe class BatchSplit<T> : IChunkBody where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Split only from this many elements per call: below it the hand-off costs more than it saves.</summary>
    internal static long MinElements = 1L << 20;

    [ThreadStatic] private static BatchSplit<T>? t_split;

    /// <summary>Calls that took the split on this thread (for the tests).</summary>
    [ThreadStatic] internal static int SplitCalls;

    private enum Op { Relu, ReluBackward, ReluBackwardAdd, GroupNormForward, GroupNormBackward }

    private readonly TwoThreadLoop _loop = new();
    private T[] _gamma = [], _beta = [];
    private Op _op;
    private int _length, _batch, _channels, _spatial, _groups;
    private T _eps;
    private T* _a, _b, _c, _e, _f, _g;

    /// <summary>Whether a call over <paramref name="units"/> independent units (samples; ≥ 2 to split) and
    /// <paramref name="elements"/> elements takes two threads.</summary>
    public static bool ShouldSplit(int units, long elements) =>
        units >= 2 && elements >= MinElements && TwoThreadLoop.Enabled && !GemmParallel.SuppressedOnThisThread;

    private static BatchSplit<T> Get()
    {
        SplitCalls++;
        return t_split ??= new BatchSplit<T>();
    }

    public static void Relu(ReadOnlySpan<T> x, Span<T> y)
    {
        fixed (T* px = x, py = y) Get().Run(Op.Relu, x.Length, px, null, py);
    }

    public static void ReluBackward(ReadOnlySpan<T> x, ReadOnlySpan<T> gradY, Span<T> gradX, bool accumulate)
    {
        fixed (T* px = x, pg = gradY, pd = gradX) Get().Run(accumulate ? Op.ReluBackwardAdd : Op.ReluBackward, x.Length, px, pg, pd);
    }

    public static void GroupNormForward(int batch, int channels, int spatial, int groups, T eps,
        ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y, Span<T> stats)
    {
        var s = Get();
        (s._batch, s._channels, s._spatial, s._groups, s._eps) = (batch, channels, spatial, groups, eps);
        fixed (T* px = x, pg = gamma, pb = beta, py = y, ps = stats)
        {
            s._e = pg; s._f = pb; s._g = ps;
            s.Run(Op.GroupNormForward, batch, px, null, py);
        }
    }

    public static void GroupNormBackward(int batch, int channels, int spatial, int groups,
        ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> stats, ReadOnlySpan<T> gradY,
        Span<T> gradX, Span<T> gradGamma, Span<T> gradBeta)
    {
        var s = Get();
        int perSample = batch * channels;
        if (s._gamma.Length < perSample) (s._gamma, s._beta) = (new T[perSample], new T[perSample]);
        (s._batch, s._channels, s._spatial, s._groups) = (batch, channels, spatial, groups);
        fixed (T* px = x, pg = gamma, ps = stats, pgy = gradY, pgx = gradX)
        {
            s._e = pg; s._g = ps;
            s.Run(Op.GroupNormBackward, batch, px, pgy, pgx);
        }
        // The serial kernel's order: sample by sample, each adding its channels' sums.
        var sg = s._gamma.AsSpan(0, perSample);
        var sb = s._beta.AsSpan(0, perSample);
        int perGroup = channels / groups;
        for (int n = 0; n < batch * groups; n++)
        {
            int g = n % groups, at = n / groups * channels;
            for (int cl = 0; cl < perGroup; cl++)
            {
                int c = g * perGroup + cl;
                gradGamma[c] += sg[at + c];
                gradBeta[c] += sb[at + c];
            }
        }
    }

    /// <summary>a: input, b: second input (gradY) or null, c: output; <paramref name="length"/> elements or samples.</summary>
    private void Run(Op op, int length, T* a, T* b, T* c)
    {
        (_op, _length) = (op, length);
        _a = a; _b = b; _c = c;
        try { _loop.Run(this, 2); }
        finally { _a = _b = _c = _e = _f = _g = null; }
    }

    public void RunChunk(int chunk, int worker)
    {
        int half = _length / 2, first = chunk == 0 ? 0 : half, last = chunk == 0 ? half : _length;
        switch (_op)
        {
            case Op.Relu:
                TensorPrimitives.Max(new ReadOnlySpan<T>(_a + first, last - first), T.Zero, new Span<T>(_c + first, last - first));
                break;
            case Op.ReluBackward:
            case Op.ReluBackwardAdd:
                Activations.ReluBackwardRange(new ReadOnlySpan<T>(_a + first, last - first), new ReadOnlySpan<T>(_b + first, last - first),
                    new Span<T>(_c + first, last - first), _op == Op.ReluBackwardAdd);
                break;
            case Op.GroupNormForward:
            {
                int size = _batch * _channels * _spatial;
                GroupNorm.ForwardSamples(_batch, _channels, _spatial, _groups, _eps, new ReadOnlySpan<T>(_a, size),
                    new ReadOnlySpan<T>(_e, _channels), new ReadOnlySpan<T>(_f, _channels), new Span<T>(_c, size),
                    new Span<T>(_g, 2 * _batch * _groups), first, last);
                break;
            }
            default:
            {
                int size = _batch * _channels * _spatial;
                GroupNorm.BackwardSamples(_batch, _channels, _spatial, _groups, new ReadOnlySpan<T>(_a, size),
                    new ReadOnlySpan<T>(_e, _channels), new ReadOnlySpan<T>(_g, 2 * _batch * _groups), new ReadOnlySpan<T>(_b, size),
                    new Span<T>(_c, size), _gamma.AsSpan(0, _batch * _channels), _beta.AsSpan(0, _batch * _channels), first, last, partials: true);
                break;
            }
        }
    }
}
