using System.Numerics;

namespace OdeDsl;

/// <summary>
/// The contract the source generator implements for every <c>[OdeDynamics]</c> method:
/// dh/dt = f(h, t, θ), evaluated for a batch, with its analytic derivatives.
/// All members are static abstract so that solvers and sensitivity methods are specialised per system
/// and nothing is dispatched or allocated per call.
/// </summary>
/// <remarks>
/// Layouts: <c>h</c>, <c>dh</c>, cotangents and tangents are [batch, StateSize] row-major;
/// <c>t</c> and per-sample outputs (divergence, ∂/∂t) are [batch]; <c>theta</c> is the flat
/// parameter vector described by <see cref="Layout"/>. <c>workspace</c> is scratch of at least
/// <see cref="WorkspaceLength"/>(batch) elements, owned by the caller and reused across calls.
/// </remarks>
public interface IOdeDynamics<TSelf> where TSelf : IOdeDynamics<TSelf>
{
    /// <summary>Number of scalar components of one sample's state (product of <see cref="StateShape"/>).</summary>
    static abstract int StateSize { get; }

    /// <summary>The state's shape as written in <c>[Shape(...)]</c>, e.g. [64, 6, 6].</summary>
    static abstract ReadOnlySpan<int> StateShape { get; }

    /// <summary>Length of θ: the concatenation of all <c>[Param]</c> arguments, in declaration order.</summary>
    static abstract int ParameterCount { get; }

    /// <summary>Names, shapes, offsets and default initialisers of the parameters.</summary>
    static abstract ParameterLayout Layout { get; }

    /// <summary>Scratch elements needed by any member below for the given batch size.</summary>
    static abstract int WorkspaceLength(int batch);

    /// <summary>dh = f(h, t, θ).</summary>
    static abstract void Evaluate<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta,
        Span<T> dh, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>
    /// Reverse mode: given the cotangent a = ∂L/∂f (per sample), writes aᵀ∂f/∂h into <paramref name="gradH"/>,
    /// writes aᵀ∂f/∂t per sample into <paramref name="gradT"/>, and ADDS Σ_b aᵀ∂f/∂θ into <paramref name="gradTheta"/>.
    /// The cotangent is read during the whole call (generated systems use it as the output's adjoint), so it must not
    /// overlap the gradients or the workspace.
    /// </summary>
    static abstract void VectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta,
        ReadOnlySpan<T> cotangent, Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>
    /// <see cref="Evaluate{T}"/> and <see cref="VectorJacobianProduct{T}"/> at the same point in one call, as the adjoint's
    /// augmented system needs them. A VJP computes f on its way, so an implementation that writes that value to
    /// <paramref name="dh"/> saves the separate evaluation (the generated systems do, bit-identical to the two calls).
    /// The default calls the two members. <paramref name="dh"/> must not overlap the workspace or the other arguments.
    /// </summary>
    static virtual void EvaluateAndVectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta,
        ReadOnlySpan<T> cotangent, Span<T> dh, Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        TSelf.Evaluate(t, h, theta, dh, batch, workspace);
        TSelf.VectorJacobianProduct(t, h, theta, cotangent, gradH, gradTheta, gradT, batch, workspace);
    }

    /// <summary>
    /// Elements per row that <see cref="EvaluateKeeping{T}"/> keeps for a later <see cref="VectorJacobianProductFromKept{T}"/>
    /// at the same point: the activations a VJP would otherwise recompute. 0 (the default): the system keeps nothing,
    /// and backprop recomputes every stage's forward in its reverse sweep.
    /// </summary>
    internal static virtual int KeptPerRow => 0;

    /// <summary>
    /// <see cref="Evaluate{T}"/>, also writing into <paramref name="kept"/> ([batch · <see cref="KeptPerRow"/>]) what
    /// <see cref="VectorJacobianProductFromKept{T}"/> needs at this point. Backprop's forward solve calls it per evaluation.
    /// </summary>
    internal static virtual void EvaluateKeeping<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta,
        Span<T> dh, Span<T> kept, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => throw new NotSupportedException($"{typeof(TSelf).Name} keeps no activations (KeptPerRow is 0).");

    /// <summary>
    /// <see cref="VectorJacobianProduct{T}"/> at a point that <see cref="EvaluateKeeping{T}"/> evaluated with the same t, h,
    /// θ and batch rows, starting from what it kept instead of recomputing the forward; the same results, bit for bit.
    /// </summary>
    internal static virtual void VectorJacobianProductFromKept<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta,
        ReadOnlySpan<T> kept, ReadOnlySpan<T> cotangent, Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => throw new NotSupportedException($"{typeof(TSelf).Name} keeps no activations (KeptPerRow is 0).");

    /// <summary>Forward mode: dh = f(h, t, θ) and jvp = (∂f/∂h)·tangent.</summary>
    static abstract void JacobianVectorProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta,
        ReadOnlySpan<T> tangent, Span<T> dh, Span<T> jvp, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>dh = f(h, t, θ) and the exact divergence tr(∂f/∂h) per sample (continuous normalising flows).</summary>
    static abstract void EvaluateWithDivergence<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta,
        Span<T> dh, Span<T> divergence, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>;
}
