using System.Numerics;
using System.Numerics.Tensors;

namespace OdeDsl;

/// <summary>
/// One backward evaluation of the adjoint over the whole batch: f (optionally) and the VJP with cotangent −a, so that
/// da = −aᵀ∂f/∂h, da_θ = −Σ_b aᵀ∂f/∂θ and da_t = −Σ_b aᵀ∂f/∂t. Used by <see cref="AugmentedRhs{TDynamics, T}"/> and
/// <see cref="InterpolatedAdjointRhs{TDynamics, T}"/>.
/// </summary>
/// <remarks>
/// <para>A batch of at least two chunks (<see cref="RowChunkedEvaluator{TDynamics, T}.ChunkRowsFor(int)"/> rows each, ≈ 100
/// rows of the spiral field in float64) is cut into an even number of equal chunks run on the calling thread and one
/// pool thread (<see cref="TwoThreadLoop"/>), as the forward's <see cref="RowChunkedEvaluator{TDynamics, T}"/> does.
/// Rows are independent except for the parameter gradient, a sum over rows: each chunk adds its rows into its OWN
/// slot of P numbers, and the caller then adds the slots in chunk order. Chunk boundaries depend only on the batch and
/// a slot only on its rows, so the result repeats bit for bit whichever thread ran which chunk. (Per-thread slots would
/// not: the threads claim chunks first come, first served.) a_t is summed in row order over the batch, as before.</para>
/// <para>Against one call over the whole batch the results differ in the last bits: the kernels group rows (GEMM blocks,
/// the weight-gradient GEMMs' sums over rows), and chunking changes the groups and the order of the θ sum. A batch
/// under two chunks is one call on the calling thread, bit for bit what it was before chunking existed.
/// Nothing is allocated per call; the chunks' workspaces are the running threads' (<see cref="ThreadWorkspace{T}"/>).
/// One evaluation at a time per instance.</para>
/// </remarks>
internal sealed unsafe class AdjointBatch<TDynamics, T> : IChunkBody
    where TDynamics : IOdeDynamics<TDynamics>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _theta;
    private readonly long _owner = ThreadWorkspace<T>.OwnerFor<TDynamics>();
    private readonly int _batch, _rowsPerChunk;
    private readonly T[] _rowTimes;    // [batch]: the augmented row's t broadcast to every sample
    private readonly T[] _minusA;      // [batch·S]: −a, the VJP's cotangent (so its outputs need no negation)
    private readonly T[] _gradT;       // [batch]
    private readonly T[] _gradTheta;   // [chunks, P]: each chunk's own θ sum
    private readonly TwoThreadLoop? _loop;
    private T _time;
    private T* _h, _a, _dh, _da;       // set for one Evaluate; _dh null: VJP only
    private T* _kept;                  // set for one Evaluate from kept activations (IOdeDynamics.KeptPerRow), else null

    /// <param name="theta">The parameters θ shared by every row.</param>
    /// <param name="batch">Rows of the augmented state.</param>
    /// <param name="allowChunks">False: always one call over the batch (tests compare the two paths).</param>
    public AdjointBatch(T[] theta, int batch, bool allowChunks = true)
    {
        _theta = theta;
        _batch = batch;
        int chunkRows = RowChunkedEvaluator<TDynamics, T>.ChunkRowsFor(batch);
        _rowsPerChunk = allowChunks && batch >= 2 * chunkRows ? RowChunkedEvaluator<TDynamics, T>.RowsPerChunk(batch, chunkRows) : batch;
        Chunks = (batch + _rowsPerChunk - 1) / _rowsPerChunk;
        _rowTimes = new T[batch];
        // The two large buffers (MNIST: 1.2 MB each) are kept across steps (SolverScratch; ReturnBuffers): fresh ones are
        // pages to fault in on the caller's thread every backward solve.
        _minusA = SolverScratch<T>.Rent(batch * TDynamics.StateSize);
        _gradT = new T[batch];
        _gradTheta = SolverScratch<T>.Rent(Chunks * TDynamics.ParameterCount);
        _loop = Chunks > 1 ? new TwoThreadLoop() : null;
    }

    public int Chunks { get; }

    /// <summary>Gives the large buffers back for the next instance on this thread; this instance must not be used after.</summary>
    public void ReturnBuffers()
    {
        SolverScratch<T>.Return(_minusA);
        SolverScratch<T>.Return(_gradTheta);
    }

    /// <summary>Rows per call of the dynamics (the batch when it is one call): kept activations must have this layout.</summary>
    public int RowsPerChunk => _rowsPerChunk;

    /// <summary>
    /// Writes f into <paramref name="dh"/> (skipped when it is empty), −aᵀ∂f/∂h into <paramref name="da"/> and
    /// −Σ aᵀ∂f/∂θ into <paramref name="daTheta"/>; returns −Σ aᵀ∂f/∂t. h, a, dh and da are [batch, S].
    /// </summary>
    public T Evaluate(T time, ReadOnlySpan<T> h, ReadOnlySpan<T> a, Span<T> dh, Span<T> da, Span<T> daTheta)
        => Evaluate(time, h, default, a, dh, da, daTheta);

    /// <summary>
    /// <see cref="Evaluate(T, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{T}, Span{T})"/> without f, at a point whose
    /// forward evaluation (chunked as this batch is: <see cref="RowsPerChunk"/>) kept <paramref name="kept"/>
    /// ([batch · KeptPerRow]): each chunk's VJP starts from its part instead of recomputing the forward.
    /// </summary>
    public T EvaluateFromKept(T time, ReadOnlySpan<T> h, ReadOnlySpan<T> kept, ReadOnlySpan<T> a, Span<T> da, Span<T> daTheta)
    {
        DynamicsGuard.Rows(kept.Length, _batch, TDynamics.KeptPerRow, nameof(kept));
        return Evaluate(time, h, kept, a, default, da, daTheta);
    }

    private T Evaluate(T time, ReadOnlySpan<T> h, ReadOnlySpan<T> kept, ReadOnlySpan<T> a, Span<T> dh, Span<T> da, Span<T> daTheta)
    {
        int n = _batch * TDynamics.StateSize, p = TDynamics.ParameterCount;
        // The chunks are cut from raw pointers: the extents must be exact (callers slice them from the augmented state).
        if (h.Length != n || a.Length != n || da.Length != n || (!dh.IsEmpty && dh.Length != n) || daTheta.Length != p)
            throw new ArgumentException($"adjoint batch of {_batch} rows: h, a, dh and da need {n} elements and a_θ {p}.");
        fixed (T* ph = h, pa = a, pdh = dh, pda = da, pk = kept)
        {
            _time = time; _h = ph; _a = pa; _dh = pdh; _da = pda; _kept = pk;
            try
            {
                if (_loop is null) RunChunk(0, 0);   // one call, on this thread, free to split its GEMMs
                else _loop.Run(this, Chunks);
            }
            finally { _h = _a = _dh = _da = _kept = null; }
        }
        // Chunk order, whichever thread ran which chunk.
        _gradTheta.AsSpan(0, p).CopyTo(daTheta);
        for (int c = 1; c < Chunks; c++) TensorPrimitives.Add(daTheta, _gradTheta.AsSpan(c * p, p), daTheta);
        T sum = T.Zero;   // in row order: a_t's increment does not depend on chunks or SIMD lanes
        foreach (T v in _gradT) sum += v;
        return sum;
    }

    public void RunChunk(int chunk, int worker)
    {
        int s = TDynamics.StateSize, p = TDynamics.ParameterCount;
        int first = chunk * _rowsPerChunk, rows = Math.Min(_rowsPerChunk, _batch - first);
        nint o = (nint)first * s;
        int len = rows * s;
        Span<T> times = _rowTimes.AsSpan(first, rows), minusA = _minusA.AsSpan((int)o, len), gradT = _gradT.AsSpan(first, rows);
        Span<T> gradTheta = _gradTheta.AsSpan(chunk * p, p);
        var h = new ReadOnlySpan<T>(_h + o, len);
        var da = new Span<T>(_da + o, len);
        int wsLength = TDynamics.WorkspaceLength(rows);
        var wsArray = ThreadWorkspace<T>.Rent(wsLength, _owner);   // the running thread's, not allocated per instance
        Span<T> workspace = wsArray.AsSpan(0, wsLength);
        times.Fill(_time);
        // dst = −a: the VJP is linear in its cotangent, so −aᵀ∂f/∂(h, θ, t) comes out with no pass over the P outputs.
        TensorPrimitives.Negate(new ReadOnlySpan<T>(_a + o, len), minusA);
        gradTheta.Clear();
        if (_kept is not null)
        {
            int k = TDynamics.KeptPerRow;
            TDynamics.VectorJacobianProductFromKept(times, h, _theta, new ReadOnlySpan<T>(_kept + (nint)first * k, rows * k), minusA, da,
                gradTheta, gradT, rows, workspace);
        }
        else if (_dh is null) TDynamics.VectorJacobianProduct(times, h, _theta, minusA, da, gradTheta, gradT, rows, workspace);
        else TDynamics.EvaluateAndVectorJacobianProduct(times, h, _theta, minusA, new Span<T>(_dh + o, len), da, gradTheta, gradT, rows, workspace);
        ThreadWorkspace<T>.Return(wsArray, _owner);
    }
}
