using System.Numerics;

namespace OdeDsl.Flows;

/// <summary>
/// The continuous normalising flow's augmented system with the exact trace, as an <see cref="IOdeDynamics{TSelf}"/>:
/// rows [z, Δlog p] with dz/dt = f(z, t, θ) and dΔlog p/dt = −tr(∂f/∂z) (Chen et al. 2018, Theorem 1). Because it is
/// ordinary dynamics, every solver and every <see cref="Sensitivity"/> (backprop, adjoint, checkpointed adjoint) applies.
/// </summary>
/// <remarks>
/// Its VJP needs the gradient of the trace, a second derivative of f; the field supplies it by differentiating its own
/// Jacobian-vector products in reverse (see <see cref="ICnfField{TSelf}"/>). Every row must carry the same t.
/// ∂f/∂t is reported for the batch as a whole in row 0 of gradT (the runtime sums gradT over rows).
/// <see cref="JacobianVectorProduct{T}"/> would need the trace's directional derivative and is not provided.
/// </remarks>
public sealed class ExactTraceCnf<TField> : IOdeDynamics<ExactTraceCnf<TField>>, ICoarseRowChunks where TField : ICnfField<TField>
{
    private ExactTraceCnf() { }

    public static int StateSize => TField.Dimension + 1;
    public static ReadOnlySpan<int> StateShape => new[] { TField.Dimension + 1 };
    public static int ParameterCount => TField.ParameterCount;
    public static ParameterLayout Layout => TField.Layout;
    public static int WorkspaceLength(int batch) => CnfAugmentedCore<TField>.WorkspaceLength(batch, false);

    public static void Evaluate<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => CnfAugmentedCore<TField>.Evaluate(false, t, h, theta, dh, default, batch, workspace);

    public static void VectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> cotangent,
        Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => CnfAugmentedCore<TField>.EvaluateAndVjp(false, t, h, theta, cotangent, default, gradH, gradTheta, gradT, batch, workspace);

    public static void EvaluateAndVectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> cotangent,
        Span<T> dh, Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => CnfAugmentedCore<TField>.EvaluateAndVjp(false, t, h, theta, cotangent, dh, gradH, gradTheta, gradT, batch, workspace);

    // Backprop keeps what the field's reverse sweep reads (its hidden activations) from every forward stage.
    static int IOdeDynamics<ExactTraceCnf<TField>>.KeptPerRow => CnfAugmentedCore<TField>.KeptPerRow(false);

    static void IOdeDynamics<ExactTraceCnf<TField>>.EvaluateKeeping<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta,
        Span<T> dh, Span<T> kept, int batch, Span<T> workspace)
        => CnfAugmentedCore<TField>.Evaluate(false, t, h, theta, dh, default, batch, workspace, kept);

    static void IOdeDynamics<ExactTraceCnf<TField>>.VectorJacobianProductFromKept<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta,
        ReadOnlySpan<T> kept, ReadOnlySpan<T> cotangent, Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
        => CnfAugmentedCore<TField>.VjpFromKept(t, h, theta, kept, cotangent, gradH, gradTheta, gradT, batch, workspace);

    public static void JacobianVectorProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> tangent,
        Span<T> dh, Span<T> jvp, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => throw new NotSupportedException(
            $"{nameof(ExactTraceCnf<TField>)}: a JVP of the augmented system needs the trace's directional derivative (third-order in the field's weights' use); use the field's Forward for (∂f/∂z)·v.");

    /// <summary>dh and the augmented system's divergence, which is tr(∂f/∂z) (Δlog p's row of the Jacobian is zero on its diagonal).</summary>
    public static void EvaluateWithDivergence<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh, Span<T> divergence,
        int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        DynamicsGuard.Rows(divergence.Length, batch, 1, nameof(divergence));
        CnfAugmentedCore<TField>.Evaluate(false, t, h, theta, dh, divergence, batch, workspace);
    }
}

/// <summary>
/// The augmented system with Hutchinson's trace estimator (FFJORD, Grathwohl et al. 2019): rows [z, Δlog p, ε] with
/// dΔlog p/dt = −εᵀ(∂f/∂z)ε and dε/dt = 0, so the noise drawn into the initial state (Gaussian or Rademacher, see
/// <see cref="ContinuousFlow{TField, T}"/>) is fixed for the solve. E[εᵀAε] = tr A for noise of zero mean and identity covariance.
/// The error norm of a solve should skip the ε channel (it is constant); <see cref="FlowNorms"/> does.
/// </summary>
public sealed class HutchinsonCnf<TField> : IOdeDynamics<HutchinsonCnf<TField>>, ICoarseRowChunks where TField : ICnfField<TField>
{
    private HutchinsonCnf() { }

    public static int StateSize => 2 * TField.Dimension + 1;
    public static ReadOnlySpan<int> StateShape => new[] { 2 * TField.Dimension + 1 };
    public static int ParameterCount => TField.ParameterCount;
    public static ParameterLayout Layout => TField.Layout;
    public static int WorkspaceLength(int batch) => CnfAugmentedCore<TField>.WorkspaceLength(batch, true);

    public static void Evaluate<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => CnfAugmentedCore<TField>.Evaluate(true, t, h, theta, dh, default, batch, workspace);

    public static void VectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> cotangent,
        Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => CnfAugmentedCore<TField>.EvaluateAndVjp(true, t, h, theta, cotangent, default, gradH, gradTheta, gradT, batch, workspace);

    public static void EvaluateAndVectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> cotangent,
        Span<T> dh, Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => CnfAugmentedCore<TField>.EvaluateAndVjp(true, t, h, theta, cotangent, dh, gradH, gradTheta, gradT, batch, workspace);

    public static void JacobianVectorProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> tangent,
        Span<T> dh, Span<T> jvp, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => throw new NotSupportedException(
            $"{nameof(HutchinsonCnf<TField>)}: a JVP of the augmented system needs the estimator's directional derivative; use the field's Forward for (∂f/∂z)·v.");

    /// <summary>Not provided: the exact divergence needs d directions, this system carries one (use <see cref="ExactTraceCnf{TField}"/>).</summary>
    public static void EvaluateWithDivergence<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh, Span<T> divergence,
        int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => throw new NotSupportedException(
            $"{nameof(HutchinsonCnf<TField>)} estimates the trace; its exact divergence is ExactTraceCnf's.");
}
