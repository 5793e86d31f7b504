using System.Numerics;
using System.Runtime.InteropServices;

namespace OdeDsl;

/// <summary>
/// What the evaluations of backprop's forward solve kept for the reverse sweep (<see cref="IOdeDynamics{TSelf}.KeptPerRow"/>):
/// per evaluation, in order, its times, its input state and the kept activations. The sweep looks a stage up by its time and
/// its input state, compared bit for bit, so a hit is an evaluation at exactly that point (with the same θ, which the forward
/// record holds fixed): evaluations of rejected steps or of the initial-step probe are simply never asked for, and a stage
/// the log does not hold (over its memory budget, released, or a state that differs in a bit) is recomputed as before.
/// </summary>
/// <remarks>
/// Kept activations are laid out per call of the dynamics (a chunk of <see cref="RowsPerChunk"/> rows keeps
/// rows × KeptPerRow elements in its own layout), so they serve a VJP only with the same chunking: the sweep checks.
/// Entries come from a pool shared by the process and go back to it on <see cref="Release"/>, so a training loop's steps
/// reuse the same arrays instead of allocating them anew (13.5 MB per step at the CNF bench's size).
/// </remarks>
internal sealed class ActivationLog<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // Entries of the last length asked for (a training loop's steps all ask for one length); ArrayPool would round each
    // 270 KB entry of the CNF bench up to 512 KB. At most PoolBytes are kept for the next solve.
    private const long PoolBytes = 256L << 20;
    private static readonly Stack<T[]> s_free = new();
    private static readonly Lock s_lock = new();

    private readonly int _batch, _n, _kept;
    private readonly List<T[]> _entries = [];
    private readonly long _maxEntries;
    private int _cursor;
    private bool _released;

    /// <param name="batch">Rows of the solve.</param>
    /// <param name="stateSize">Elements per row of the state.</param>
    /// <param name="keptPerRow">Elements the dynamics keep per row.</param>
    /// <param name="rowsPerChunk">Rows per call of the dynamics in the forward solve (the batch when it is not chunked).</param>
    /// <param name="maxBytes">The most memory the log keeps: later evaluations of a longer solve are not kept (their stages are recomputed).</param>
    public ActivationLog(int batch, int stateSize, int keptPerRow, int rowsPerChunk, long maxBytes)
    {
        _batch = batch;
        _n = batch * stateSize;
        _kept = batch * keptPerRow;
        RowsPerChunk = rowsPerChunk;
        _maxEntries = maxBytes / ((long)EntryLength * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
    }

    public int RowsPerChunk { get; }

    /// <summary>Reverse-sweep stages served from the log (tests check that the kept path is taken).</summary>
    public long Hits { get; private set; }

    /// <summary>Evaluations that kept their activations (also after <see cref="Release"/>).</summary>
    public int Count { get; private set; }

    private int EntryLength => _batch + _n + _kept;

    /// <summary>Logs an evaluation at (t, y); returns where to keep its activations, or an empty span when over budget.</summary>
    public Span<T> Add(ReadOnlySpan<T> t, ReadOnlySpan<T> y)
    {
        if (_released || _entries.Count >= _maxEntries) return default;
        var entry = Rent(EntryLength);
        t.Slice(0, _batch).CopyTo(entry);
        y.Slice(0, _n).CopyTo(entry.AsSpan(_batch));
        _entries.Add(entry);
        Count++;
        return entry.AsSpan(_batch + _n, _kept);
    }

    /// <summary>
    /// The activations kept by the evaluation at time <paramref name="time"/> (every row) and state <paramref name="y"/>,
    /// or an empty span. The reverse sweep asks in roughly the reverse of the logging order: the search starts at the last hit.
    /// </summary>
    public ReadOnlySpan<T> Find(T time, ReadOnlySpan<T> y)
    {
        int count = _entries.Count;
        for (int probe = 0; probe < count; probe++)
        {
            int e = ((_cursor - probe) % count + count) % count;
            var entry = _entries[e];
            if (!Matches(entry, time, y)) continue;
            _cursor = e;
            Hits++;
            return entry.AsSpan(_batch + _n, _kept);
        }
        return default;
    }

    private bool Matches(T[] entry, T time, ReadOnlySpan<T> y)
    {
        if (entry[0] != time) return false;
        for (int b = 1; b < _batch; b++) if (entry[b] != time) return false;
        return MemoryMarshal.AsBytes(entry.AsSpan(_batch, _n)).SequenceEqual(MemoryMarshal.AsBytes(y));
    }

    /// <summary>Gives the entries back to the pool; later look-ups miss (and the sweep recomputes).</summary>
    public void Release()
    {
        if (_released) return;
        _released = true;
        lock (s_lock)
            foreach (var entry in _entries)
                if ((long)(s_free.Count + 1) * entry.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() <= PoolBytes) s_free.Push(entry);
        _entries.Clear();
    }

    /// <summary>A pooled entry of exactly <paramref name="length"/> elements, else a new one (not cleared: Add and the dynamics write all of it).</summary>
    private static T[] Rent(int length)
    {
        lock (s_lock)
            while (s_free.TryPop(out var entry))
                if (entry.Length == length) return entry;   // entries of another length (another problem) are dropped
        return GC.AllocateUninitializedArray<T>(length);
    }
}
