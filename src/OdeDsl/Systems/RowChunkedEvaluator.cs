using System.Numerics;

namespace OdeDsl;

/// <summary>
/// Evaluates a large batch of a generated system in chunks of rows, on the calling thread and one thread-pool thread
/// (<see cref="TwoThreadLoop"/>).
/// </summary>
/// <remarks>
/// Two reasons, both measured on the spiral field at batch 1024 (docs/performance.md): a chunk's intermediates
/// ([rows, 50] hidden layers) stay in L2 between the generated code's element-wise passes instead of streaming
/// 400 KB arrays through memory five times, and the rows of an <c>[OdeDynamics]</c> batch are independent samples,
/// so the chunks split across cores with no reduction. Chunk boundaries depend only on the batch size, and a chunk gets
/// the same arithmetic whichever thread runs it, so results repeat exactly from call to call. They can differ in the last
/// bits from one call over the whole batch: kernels group rows (GEMM register blocks, row tails gathered across
/// rows), and a boundary moves a row within those groups. Nothing is allocated per call; the chunks' workspaces are
/// the running threads' (<see cref="ThreadWorkspace{T}"/>).
/// </remarks>
internal sealed unsafe class RowChunkedEvaluator<TDynamics, T> : IChunkBody
    where TDynamics : IOdeDynamics<TDynamics>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Scratch per chunk to aim for: half of a typical 1–2 MiB L2, leaving room for the chunk's state rows.</summary>
    internal static int TargetChunkBytes = 256 * 1024;

    /// <summary>Fewer rows than this per chunk and the per-call overhead of the generated code starts to show.</summary>
    internal const int MinChunkRows = 32;

    private readonly T[] _theta;
    private readonly long _owner = ThreadWorkspace<T>.OwnerFor<TDynamics>();
    private readonly TwoThreadLoop _loop = new();
    private int _batch, _rowsPerChunk;
    private T* _t, _y, _dy, _kept;   // _kept null: nothing kept (IOdeDynamics.KeptPerRow)

    private RowChunkedEvaluator(T[] theta, int chunkRows)
    {
        _theta = theta;
        ChunkRows = chunkRows;
    }

    public int ChunkRows { get; }

    /// <summary>An evaluator when <paramref name="maxBatch"/> spans at least two chunks; null when one call is better.</summary>
    public static RowChunkedEvaluator<TDynamics, T>? For(T[] theta, int maxBatch)
    {
        int rows = ChunkRowsFor(maxBatch);
        return maxBatch >= 2 * rows ? new RowChunkedEvaluator<TDynamics, T>(theta, rows) : null;
    }

    private static readonly bool Coarse = typeof(ICoarseRowChunks).IsAssignableFrom(typeof(TDynamics));

    /// <summary>
    /// Rows per chunk for a batch: half of it (one chunk per thread) for <see cref="ICoarseRowChunks"/> dynamics, else
    /// <see cref="ChunkRowsFor()"/>.
    /// </summary>
    internal static int ChunkRowsFor(int batch) => Coarse ? Math.Max(MinChunkRows, (batch + 1) / 2) : ChunkRowsFor();

    /// <summary>Rows whose workspace fills <see cref="TargetChunkBytes"/>, from the workspace's growth per row.</summary>
    internal static int ChunkRowsFor()
    {
        long perRow = Math.Max(1, (TDynamics.WorkspaceLength(2 * MinChunkRows) - TDynamics.WorkspaceLength(MinChunkRows)) / MinChunkRows);
        perRow += 2L * TDynamics.StateSize; // the chunk's h and dh rows
        long rows = TargetChunkBytes / (perRow * sizeof(T));
        return (int)Math.Clamp(rows, MinChunkRows, 4096);
    }

    public void Evaluate(ReadOnlySpan<T> t, ReadOnlySpan<T> y, Span<T> dy, int batch) => Evaluate(t, y, dy, default, batch);

    /// <summary>
    /// Evaluates, and when <paramref name="kept"/> is not empty ([batch · KeptPerRow]) each chunk keeps its activations in
    /// its rows' part of it (<see cref="IOdeDynamics{TSelf}.EvaluateKeeping{T}"/>), laid out per chunk.
    /// </summary>
    public void Evaluate(ReadOnlySpan<T> t, ReadOnlySpan<T> y, Span<T> dy, Span<T> kept, int batch)
    {
        // The chunks below are cut from raw pointers: check the extents the generated code would otherwise check.
        DynamicsGuard.Rows(t.Length, batch, 1, nameof(t));
        DynamicsGuard.Rows(y.Length, batch, TDynamics.StateSize, nameof(y));
        DynamicsGuard.Rows(dy.Length, batch, TDynamics.StateSize, nameof(dy));
        if (!kept.IsEmpty) DynamicsGuard.Rows(kept.Length, batch, TDynamics.KeptPerRow, nameof(kept));
        fixed (T* pt = t, py = y, pdy = dy, pk = kept)
        {
            _t = pt; _y = py; _dy = pdy; _kept = pk; _batch = batch; _rowsPerChunk = RowsPerChunk(batch, ChunkRows);
            try { _loop.Run(this, (batch + _rowsPerChunk - 1) / _rowsPerChunk); }
            finally { _kept = null; }
        }
    }

    /// <summary>Rows per call of the dynamics for a batch (the layout of what the calls keep).</summary>
    public int RowsPerChunk(int batch) => RowsPerChunk(batch, ChunkRows);

    /// <summary>
    /// Rows per chunk for an even number of equal chunks, none over <paramref name="chunkRows"/>: 1024 float rows are
    /// 6 × 171, not 5 × 203 + 9, which left one thread a chunk short. Depends on the batch only, never on the threads.
    /// </summary>
    internal static int RowsPerChunk(int batch, int chunkRows)
    {
        int chunks = (batch + chunkRows - 1) / chunkRows;
        if (chunks > 1 && chunks % 2 == 1) chunks++;
        return (batch + chunks - 1) / chunks;
    }

    public void RunChunk(int chunk, int worker)
    {
        int S = TDynamics.StateSize, first = chunk * _rowsPerChunk, rows = Math.Min(_rowsPerChunk, _batch - first);
        int length = TDynamics.WorkspaceLength(rows);
        var workspace = ThreadWorkspace<T>.Rent(length, _owner);   // the running thread's, not allocated per evaluator
        var t = new ReadOnlySpan<T>(_t + first, rows);
        var y = new ReadOnlySpan<T>(_y + (nint)first * S, rows * S);
        var dy = new Span<T>(_dy + (nint)first * S, rows * S);
        if (_kept is null) TDynamics.Evaluate(t, y, _theta, dy, rows, workspace.AsSpan(0, length));
        else
        {
            int k = TDynamics.KeptPerRow;
            TDynamics.EvaluateKeeping(t, y, _theta, dy, new Span<T>(_kept + (nint)first * k, rows * k), rows, workspace.AsSpan(0, length));
        }
        ThreadWorkspace<T>.Return(workspace, _owner);
    }
}
