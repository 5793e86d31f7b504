using System.Numerics;

namespace OdeDsl.Flows;

/// <summary>
/// A vector field f(z, t, θ) of a continuous normalising flow with what the (z, log p) augmented system needs beyond
/// f: Jacobian-vector products along K given directions, and the reverse mode of both (f and every (∂f/∂z)·v_k),
/// which is second order in f. The exact trace is Σ_k e_kᵀ(∂f/∂z)e_k (K = d directions e_k); the Hutchinson
/// estimate is εᵀ(∂f/∂z)ε (K = 1); the Jacobian's Frobenius norm is Σ_k ‖(∂f/∂z)e_k‖². Their gradients with respect
/// to θ and z are the reverse sweep with the right cotangents on the jv's (see <see cref="ExactTraceCnf{TField}"/>).
/// </summary>
/// <remarks>
/// Layouts: z, f and cotangents of f are [batch, d]; directions v, jv and their cotangents are [K·batch, d],
/// direction-major (row k·batch + b is direction k of sample b). t is one time for the whole batch: the fields compute
/// their time-dependent weights once per call (shared-step solves give every row the same t).
/// <see cref="Backward{T}"/> reads what <see cref="Forward{T}"/> left in the workspace at the same point.
/// </remarks>
public interface ICnfField<TSelf> where TSelf : ICnfField<TSelf>
{
    /// <summary>d, the dimension of z.</summary>
    static abstract int Dimension { get; }

    /// <summary>Length of θ.</summary>
    static abstract int ParameterCount { get; }

    /// <summary>Names, shapes and initialisers of θ's tensors (one adjoint error-norm channel each).</summary>
    static abstract ParameterLayout Layout { get; }

    /// <summary>Scratch for a batch and K directions.</summary>
    static abstract int WorkspaceLength(int batch, int directions);

    /// <summary>f = f(z, t, θ) and jv_k = (∂f/∂z)·v_k for k &lt; <paramref name="directions"/>.</summary>
    static abstract void Forward<T>(T t, ReadOnlySpan<T> z, ReadOnlySpan<T> theta, ReadOnlySpan<T> v, int directions,
        Span<T> f, Span<T> jv, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>
    /// Reverse mode of <see cref="Forward{T}"/> (called just before with the same arguments and workspace): for
    /// cotangents ā_f and ā_jv, writes ∂/∂z into <paramref name="gradZ"/>, ∂/∂v into <paramref name="gradV"/> (skipped
    /// when empty), ADDS ∂/∂θ into <paramref name="gradTheta"/> and returns ∂/∂t summed over the batch.
    /// </summary>
    static abstract T Backward<T>(T t, ReadOnlySpan<T> theta, int directions, ReadOnlySpan<T> cotF, ReadOnlySpan<T> cotJv,
        Span<T> gradZ, Span<T> gradV, Span<T> gradTheta, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>f and the exact trace tr(∂f/∂z) per row ([batch]); needs WorkspaceLength(batch, d). May skip the tangent rows.</summary>
    static abstract void ForwardTrace<T>(T t, ReadOnlySpan<T> z, ReadOnlySpan<T> theta, Span<T> f, Span<T> trace, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>Reverse mode of <see cref="ForwardTrace{T}"/> (called just before): cotangents of f and of the trace → gradZ, gradTheta (ADDED), ∂/∂t.</summary>
    static abstract T BackwardTrace<T>(T t, ReadOnlySpan<T> theta, ReadOnlySpan<T> cotF, ReadOnlySpan<T> cotTrace,
        Span<T> gradZ, Span<T> gradTheta, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>
    /// Elements per row that <see cref="ForwardTraceKeeping{T}"/> keeps for <see cref="BackwardTraceFromKept{T}"/>
    /// (0, the default: the field keeps nothing and its reverse sweep follows a fresh <see cref="ForwardTrace{T}"/>).
    /// </summary>
    internal static virtual int TraceKeptPerRow => 0;

    /// <summary><see cref="ForwardTrace{T}"/>, also writing what its reverse sweep reads into <paramref name="kept"/> ([batch · TraceKeptPerRow]).</summary>
    internal static virtual void ForwardTraceKeeping<T>(T t, ReadOnlySpan<T> z, ReadOnlySpan<T> theta, Span<T> f, Span<T> trace,
        Span<T> kept, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => throw new NotSupportedException($"{typeof(TSelf).Name} keeps no activations (TraceKeptPerRow is 0).");

    /// <summary>
    /// <see cref="BackwardTrace{T}"/> at the point (t, z) that <see cref="ForwardTraceKeeping{T}"/> evaluated over the same
    /// rows, from what it kept instead of a fresh forward; the same results, bit for bit.
    /// </summary>
    internal static virtual T BackwardTraceFromKept<T>(T t, ReadOnlySpan<T> theta, ReadOnlySpan<T> z, ReadOnlySpan<T> kept,
        ReadOnlySpan<T> cotF, ReadOnlySpan<T> cotTrace, Span<T> gradZ, Span<T> gradTheta, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => throw new NotSupportedException($"{typeof(TSelf).Name} keeps no activations (TraceKeptPerRow is 0).");
}
