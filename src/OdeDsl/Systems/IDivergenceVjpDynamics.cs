using System.Numerics;

namespace OdeDsl;

/// <summary>
/// Dynamics whose exact divergence has a reverse mode: what a continuous normalising flow's adjoint needs to train f
/// with the exact trace (d log p/dt = −tr(∂f/∂h)). The source generator implements it for every <c>[OdeDynamics]</c>
/// method with a vector state whose primitives all have second-order (IR tangent) rules; <see cref="Flows.GeneratedCnfField{TDynamics}"/>
/// turns such a type into a CNF field.
/// </summary>
public interface IDivergenceVjpDynamics<TSelf> : IOdeDynamics<TSelf> where TSelf : IDivergenceVjpDynamics<TSelf>
{
    /// <summary>Scratch of <see cref="EvaluateWithDivergenceAndVectorJacobianProduct{T}"/> for a batch.</summary>
    static abstract int DivergenceWorkspaceLength(int batch);

    /// <summary>
    /// dh = f(h, t, θ) and divergence = tr(∂f/∂h) per row (as <see cref="IOdeDynamics{TSelf}.EvaluateWithDivergence{T}"/>),
    /// and, for the cotangents ā_f ([batch, StateSize]) and ā_div ([batch]), the VJP of both:
    /// gradH = ā_fᵀ∂f/∂h + ā_div·∂div/∂h and gradT likewise per row; Σ_rows (ā_fᵀ∂f/∂θ + ā_div·∂div/∂θ) is ADDED into
    /// gradTheta. Exact (reverse mode over the divergence's forward-mode sweeps), no allocation.
    /// </summary>
    static abstract void EvaluateWithDivergenceAndVectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta,
        ReadOnlySpan<T> cotangentDh, ReadOnlySpan<T> cotangentDivergence, Span<T> dh, Span<T> divergence,
        Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>
    /// The first half of <see cref="EvaluateWithDivergenceAndVectorJacobianProduct{T}"/>: dh and the divergence, keeping in
    /// <paramref name="workspace"/> (<see cref="DivergenceWorkspaceLength"/>) what <see cref="DivergenceVectorJacobianProduct{T}"/> reads.
    /// </summary>
    static abstract void EvaluateWithDivergenceForReverse<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta,
        Span<T> dh, Span<T> divergence, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>
    /// The second half: the VJP of f and the divergence for cotangents ā_f and ā_div, from the values that
    /// <see cref="EvaluateWithDivergenceForReverse{T}"/> left in <paramref name="workspace"/> (called just before with the
    /// same t, h and θ). Same results as the fused method, bit for bit.
    /// </summary>
    static abstract void DivergenceVectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta,
        ReadOnlySpan<T> cotangentDh, ReadOnlySpan<T> cotangentDivergence, Span<T> gradH, Span<T> gradTheta, Span<T> gradT,
        int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>Scratch of <see cref="DirectionalForward{T}"/> and <see cref="DirectionalVectorJacobianProduct{T}"/> for a batch.</summary>
    static abstract int DirectionalWorkspaceLength(int batch);

    /// <summary>
    /// For rows h = [z, v] (2·StateSize each): dh = f(z, t, θ) and jvp = (∂f/∂z)·v, keeping in the workspace what
    /// <see cref="DirectionalVectorJacobianProduct{T}"/> reads. With v = ε, εᵀ·jvp is Hutchinson's trace estimate.
    /// </summary>
    static abstract void DirectionalForward<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta,
        Span<T> dh, Span<T> jvp, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>
    /// The reverse mode of <see cref="DirectionalForward{T}"/> (called just before with the same arguments and workspace):
    /// for cotangents ā_f and ā_jvp ([batch, StateSize] each), gradH = [∂/∂z, ∂/∂v] per row (2·StateSize), gradT per row,
    /// and Σ_rows ∂/∂θ ADDED into gradTheta, of ā_fᵀf + ā_jvpᵀ(∂f/∂z)v. Exact (reverse over forward).
    /// </summary>
    static abstract void DirectionalVectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta,
        ReadOnlySpan<T> cotangentDh, ReadOnlySpan<T> cotangentJvp, Span<T> gradH, Span<T> gradTheta, Span<T> gradT,
        int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>;
}
