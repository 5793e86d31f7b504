using System.Numerics;

namespace OdeDsl;

/// <summary>
/// The augmented dynamics of the adjoint method (Chen et al. 2018, Algorithm 1), solved backwards in time:
/// dh/dt = f(h, t, θ), da/dt = −aᵀ∂f/∂h, da_θ/dt = −aᵀ∂f/∂θ, da_t/dt = −aᵀ∂f/∂t.
/// </summary>
/// <remarks>
/// The whole batch is ONE row of the augmented state, laid out [h (batch·S), a (batch·S), a_θ (P), a_t (1)]:
/// θ and the output times are shared by the batch, so a_θ and a_t are sums over rows and are stored once
/// (P + 1 numbers instead of batch·(P + 1)); the generated VJP already adds Σ_b aᵀ∂f/∂θ, and the forward solve
/// took one shared step sequence, so one step sequence backwards loses nothing. One evaluation = one batched f
/// and one batched VJP, asked for together (<see cref="IOdeDynamics{TSelf}.EvaluateAndVectorJacobianProduct{T}"/>) so that
/// a system whose VJP yields f on the way evaluates f once; a large batch is evaluated in chunks on two cores with a
/// deterministic θ sum (<see cref="AdjointBatch{TDynamics, T}"/>). A struct so that the solver is specialised for it;
/// buffers are allocated once.
/// </remarks>
internal readonly struct AugmentedRhs<TDynamics, T> : IOdeRhs<T>
    where TDynamics : IOdeDynamics<TDynamics>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _batch;
    private readonly AdjointBatch<TDynamics, T> _adjoint;   // f + VJP over the batch, in chunks on two cores when large

    public AugmentedRhs(T[] theta, int batch, bool allowChunks = true)
    {
        _batch = batch;
        _adjoint = new AdjointBatch<TDynamics, T>(theta, batch, allowChunks);
    }

    public static int Length(int batch) => 2 * batch * TDynamics.StateSize + TDynamics.ParameterCount + 1;

    /// <summary>Gives the adjoint batch's buffers back (<see cref="AdjointBatch{TDynamics, T}.ReturnBuffers"/>) once the solves are done.</summary>
    public void ReturnBuffers() => _adjoint.ReturnBuffers();

    public int StateSize => Length(_batch);

    public void Evaluate(ReadOnlySpan<T> t, ReadOnlySpan<T> z, Span<T> dz, int batch)
    {
        int n = _batch * TDynamics.StateSize, p = TDynamics.ParameterCount;
        for (int row = 0; row < batch; row++)
        {
            int o = row * StateSize;
            dz[o + 2 * n + p] = _adjoint.Evaluate(t[row], z.Slice(o, n), z.Slice(o + n, n),
                dz.Slice(o, n), dz.Slice(o + n, n), dz.Slice(o + 2 * n, p));
        }
    }
}

/// <summary>
/// The checkpointed adjoint's backward dynamics: [a (batch·S), a_θ (P), a_t (1)] as one row, with h(t) read from
/// the dense output of the segment's forward re-solve instead of being integrated backwards.
/// </summary>
internal readonly struct InterpolatedAdjointRhs<TDynamics, T> : IOdeRhs<T>
    where TDynamics : IOdeDynamics<TDynamics>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _batch;
    private readonly Solution<T> _segment;
    private readonly T[] _h;          // [batch·S]: h(t) from the segment's interpolant
    private readonly AdjointBatch<TDynamics, T> _adjoint;

    public InterpolatedAdjointRhs(T[] theta, int batch, Solution<T> segment)
    {
        _batch = batch;
        _segment = segment;
        _h = new T[batch * TDynamics.StateSize];
        _adjoint = new AdjointBatch<TDynamics, T>(theta, batch);
    }

    public static int Length(int batch) => batch * TDynamics.StateSize + TDynamics.ParameterCount + 1;

    public int StateSize => Length(_batch);

    public void Evaluate(ReadOnlySpan<T> t, ReadOnlySpan<T> z, Span<T> dz, int batch)
    {
        int n = _batch * TDynamics.StateSize, p = TDynamics.ParameterCount;
        for (int row = 0; row < batch; row++)
        {
            int o = row * StateSize;
            _segment.Interpolate(t[row], _h);
            dz[o + n + p] = _adjoint.Evaluate(t[row], _h, z.Slice(o, n), Span<T>.Empty, dz.Slice(o, n), dz.Slice(o + n, p));
        }
    }
}
