using System.Numerics;
using System.Runtime.ExceptionServices;

namespace OdeDsl;

/// <summary>
/// Evaluates a large batch of a generated system in chunks of rows, on the calling thread and one thread-pool thread.
/// </summary>
/// <remarks>
/// Two reasons, both measured on the spiral field at batch 1024 (docs/performance.md): a chunk's intermediates
/// ([rows, 50] hidden layers) stay in L2 between the generated code's element-wise passes instead of streaming
/// 400 KB arrays through memory five times, and the rows of an <c>[OdeDynamics]</c> batch are independent samples,
/// so the chunks split across cores with no reduction. Chunks are claimed from a shared counter: if the pool
/// thread starts late (or never, on a busy pool) the caller takes the rest, so a call is never slower than the
/// serial loop by more than the hand-off. Every row goes through the same generated code with the same operands
/// whichever thread runs it, so results do not depend on the split. Nothing is allocated per call.
/// </remarks>
internal sealed unsafe class RowChunkedEvaluator<TDynamics, T> : IThreadPoolWorkItem
    where TDynamics : IOdeDynamics<TDynamics>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Scratch per chunk to aim for: half of a typical 1–2 MiB L2, leaving room for the chunk's state rows.</summary>
    internal static int TargetChunkBytes = 256 * 1024;

    /// <summary>Fewer rows than this per chunk and the per-call overhead of the generated code starts to show.</summary>
    internal const int MinChunkRows = 32;

    /// <summary>Off on one core; tests may switch it.</summary>
    internal static bool ParallelEnabled = Environment.ProcessorCount > 1;

    private const int Queued = 0, Taken = 1, Done = 2;

    private readonly T[] _theta;
    private readonly T[] _callerWorkspace, _helperWorkspace;
    private readonly ManualResetEventSlim _done = new(false);
    private int _state = Done;
    private int _nextChunk, _chunks, _batch;
    private T* _t, _y, _dy;
    private ExceptionDispatchInfo? _helperFailure;

    private RowChunkedEvaluator(T[] theta, int chunkRows)
    {
        _theta = theta;
        ChunkRows = chunkRows;
        _callerWorkspace = new T[TDynamics.WorkspaceLength(chunkRows)];
        _helperWorkspace = new T[TDynamics.WorkspaceLength(chunkRows)];
        _ = _done.WaitHandle; // created now: ManualResetEventSlim would allocate it the first time a wait blocks
    }

    public int ChunkRows { get; }

    /// <summary>An evaluator when <paramref name="maxBatch"/> spans at least two chunks; null when one call is better.</summary>
    public static RowChunkedEvaluator<TDynamics, T>? For(T[] theta, int maxBatch)
    {
        int rows = ChunkRowsFor();
        return maxBatch >= 2 * rows ? new RowChunkedEvaluator<TDynamics, T>(theta, rows) : null;
    }

    /// <summary>Rows whose workspace fills <see cref="TargetChunkBytes"/>, from the workspace's growth per row.</summary>
    internal static int ChunkRowsFor()
    {
        long perRow = Math.Max(1, (TDynamics.WorkspaceLength(2 * MinChunkRows) - TDynamics.WorkspaceLength(MinChunkRows)) / MinChunkRows);
        perRow += 2L * TDynamics.StateSize; // the chunk's h and dh rows
        long rows = TargetChunkBytes / (perRow * sizeof(T));
        return (int)Math.Clamp(rows, MinChunkRows, 4096);
    }

    public void Evaluate(ReadOnlySpan<T> t, ReadOnlySpan<T> y, Span<T> dy, int batch)
    {
        // The chunks below are cut from raw pointers: check the extents the generated code would otherwise check.
        DynamicsGuard.Rows(t.Length, batch, 1, nameof(t));
        DynamicsGuard.Rows(y.Length, batch, TDynamics.StateSize, nameof(y));
        DynamicsGuard.Rows(dy.Length, batch, TDynamics.StateSize, nameof(dy));
        int chunks = (batch + ChunkRows - 1) / ChunkRows;
        fixed (T* pt = t, py = y, pdy = dy)
        {
            _t = pt; _y = py; _dy = pdy; _batch = batch; _chunks = chunks; _nextChunk = 0; _helperFailure = null;
            bool queued = ParallelEnabled && chunks > 1;
            if (queued)
            {
                _done.Reset();
                Volatile.Write(ref _state, Queued); // publishes the fields above to the pool thread
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            }
            try { RunChunks(_callerWorkspace); }
            finally
            {
                // Every chunk is claimed by now (or the caller's threw). If the pool thread never started, cancel it; else
                // wait for its chunk: it reads and writes through the pinned pointers, so it must finish before they unpin.
                if (queued && Interlocked.CompareExchange(ref _state, Taken, Queued) != Queued) _done.Wait();
            }
            _helperFailure?.Throw();
        }
    }

    public void Execute()
    {
        if (Interlocked.CompareExchange(ref _state, Taken, Queued) != Queued) return; // stale: the caller finished alone
        try { RunChunks(_helperWorkspace); }
        catch (Exception ex) { _helperFailure = ExceptionDispatchInfo.Capture(ex); }
        finally
        {
            Volatile.Write(ref _state, Done);
            _done.Set();
        }
    }

    private void RunChunks(T[] workspace)
    {
        int S = TDynamics.StateSize;
        var theta = _theta;
        int chunk;
        bool suppressed = Tensors.GemmParallel.SuppressedOnThisThread;
        Tensors.GemmParallel.SuppressedOnThisThread = true;
        try
        {
            while ((chunk = Interlocked.Increment(ref _nextChunk) - 1) < _chunks)
            {
                int first = chunk * ChunkRows, rows = Math.Min(ChunkRows, _batch - first);
                TDynamics.Evaluate(new ReadOnlySpan<T>(_t + first, rows), new ReadOnlySpan<T>(_y + (nint)first * S, rows * S),
                    theta, new Span<T>(_dy + (nint)first * S, rows * S), rows, workspace.AsSpan(0, TDynamics.WorkspaceLength(rows)));
            }
        }
        finally { Tensors.GemmParallel.SuppressedOnThisThread = suppressed; }
    }
}
