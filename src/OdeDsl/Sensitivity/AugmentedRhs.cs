using System.Numerics;
using System.Numerics.Tensors;

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
/// a system whose VJP yields f on the way evaluates f once. A struct so that the solver is specialised for it; buffers are
/// allocated once.
/// </remarks>
internal readonly struct AugmentedRhs<TDynamics, T> : IOdeRhs<T>
    where TDynamics : IOdeDynamics<TDynamics>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _theta;
    private readonly int _batch;
    private readonly T[] _rowTimes;   // [batch]: the augmented row's t broadcast to every sample
    private readonly T[] _minusA;     // [batch·S]: −a, the VJP's cotangent (so its outputs need no negation)
    private readonly T[] _gradT;      // [batch]
    private readonly T[] _workspace;

    public AugmentedRhs(T[] theta, int batch)
    {
        _theta = theta;
        _batch = batch;
        _rowTimes = new T[batch];
        _minusA = new T[batch * TDynamics.StateSize];
        _gradT = new T[batch];
        _workspace = new T[TDynamics.WorkspaceLength(batch)];
    }

    public static int Length(int batch) => 2 * batch * TDynamics.StateSize + TDynamics.ParameterCount + 1;

    public int StateSize => Length(_batch);

    public void Evaluate(ReadOnlySpan<T> t, ReadOnlySpan<T> z, Span<T> dz, int batch)
    {
        int n = _batch * TDynamics.StateSize, p = TDynamics.ParameterCount;
        for (int row = 0; row < batch; row++)
        {
            int o = row * StateSize;
            ReadOnlySpan<T> h = z.Slice(o, n), a = z.Slice(o + n, n);
            Span<T> dh = dz.Slice(o, n), da = dz.Slice(o + n, n), daTheta = dz.Slice(o + 2 * n, p);
            _rowTimes.AsSpan().Fill(t[row]);
            Negate(a, _minusA);
            daTheta.Clear();
            TDynamics.EvaluateAndVectorJacobianProduct(_rowTimes, h, _theta, _minusA, dh, da, daTheta, _gradT, _batch, _workspace);
            dz[o + 2 * n + p] = Sum(_gradT);
        }
    }

    /// <summary>dst = −x. The VJP is linear in its cotangent, so −aᵀ∂f/∂(h, θ, t) comes out with no pass over the P outputs.</summary>
    internal static void Negate(ReadOnlySpan<T> x, Span<T> dst) => TensorPrimitives.Negate(x, dst);

    internal static T Sum(ReadOnlySpan<T> x)
    {
        T sum = T.Zero;   // in order: a_t's increment does not depend on how the batch is split into SIMD lanes
        foreach (T v in x) sum += v;
        return sum;
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
    private readonly T[] _theta;
    private readonly int _batch;
    private readonly Solution<T> _segment;
    private readonly T[] _h;          // [batch·S]: h(t) from the segment's interpolant
    private readonly T[] _rowTimes;
    private readonly T[] _minusA;
    private readonly T[] _gradT;
    private readonly T[] _workspace;

    public InterpolatedAdjointRhs(T[] theta, int batch, Solution<T> segment)
    {
        _theta = theta;
        _batch = batch;
        _segment = segment;
        _h = new T[batch * TDynamics.StateSize];
        _minusA = new T[batch * TDynamics.StateSize];
        _rowTimes = new T[batch];
        _gradT = new T[batch];
        _workspace = new T[TDynamics.WorkspaceLength(batch)];
    }

    public static int Length(int batch) => batch * TDynamics.StateSize + TDynamics.ParameterCount + 1;

    public int StateSize => Length(_batch);

    public void Evaluate(ReadOnlySpan<T> t, ReadOnlySpan<T> z, Span<T> dz, int batch)
    {
        int n = _batch * TDynamics.StateSize, p = TDynamics.ParameterCount;
        for (int row = 0; row < batch; row++)
        {
            int o = row * StateSize;
            ReadOnlySpan<T> a = z.Slice(o, n);
            Span<T> da = dz.Slice(o, n), daTheta = dz.Slice(o + n, p);
            _segment.Interpolate(t[row], _h);
            _rowTimes.AsSpan().Fill(t[row]);
            AugmentedRhs<TDynamics, T>.Negate(a, _minusA);
            daTheta.Clear();
            TDynamics.VectorJacobianProduct(_rowTimes, _h, _theta, _minusA, da, daTheta, _gradT, _batch, _workspace);
            dz[o + n + p] = AugmentedRhs<TDynamics, T>.Sum(_gradT);
        }
    }
}
