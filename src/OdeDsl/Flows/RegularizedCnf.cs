using System.Numerics;

namespace OdeDsl.Flows;

/// <summary>
/// <see cref="ExactTraceCnf{TField}"/> with RNODE's two regularisers as extra states (Finlay et al. 2020): rows
/// [z, Δlog p, E_K, E_J] with dE_K/dt = ‖f‖² and dE_J/dt = ‖∂f/∂z‖²_F, the latter exact from the d tangent rows that
/// also give the trace (so no trace shortcut). Gradients and their derivation: <see cref="CnfRegularizedCore{TField}"/>.
/// </summary>
public sealed class RegularizedExactTraceCnf<TField> : IOdeDynamics<RegularizedExactTraceCnf<TField>>, ICoarseRowChunks where TField : ICnfField<TField>
{
    private RegularizedExactTraceCnf() { }

    public static int StateSize => TField.Dimension + 3;
    public static ReadOnlySpan<int> StateShape => new[] { TField.Dimension + 3 };
    public static int ParameterCount => TField.ParameterCount;
    public static ParameterLayout Layout => TField.Layout;
    public static int WorkspaceLength(int batch) => CnfRegularizedCore<TField>.WorkspaceLength(batch, false);

    public static void Evaluate<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => CnfRegularizedCore<TField>.Evaluate(false, t, h, theta, dh, batch, workspace);

    public static void VectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> cotangent,
        Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => CnfRegularizedCore<TField>.EvaluateAndVjp(false, t, h, theta, cotangent, default, gradH, gradTheta, gradT, batch, workspace);

    public static void EvaluateAndVectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> cotangent,
        Span<T> dh, Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => CnfRegularizedCore<TField>.EvaluateAndVjp(false, t, h, theta, cotangent, dh, gradH, gradTheta, gradT, batch, workspace);

    public static void JacobianVectorProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> tangent,
        Span<T> dh, Span<T> jvp, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => throw new NotSupportedException(
            $"{nameof(RegularizedExactTraceCnf<TField>)}: a JVP of the augmented system needs directional derivatives of the trace and the Frobenius norm; use the field's Forward for (∂f/∂z)·v.");

    public static void EvaluateWithDivergence<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh, Span<T> divergence,
        int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => throw new NotSupportedException(
            $"{nameof(RegularizedExactTraceCnf<TField>)}: the regularisers' rows depend on z, so the augmented divergence is not the trace; use ExactTraceCnf for log-densities.");
}

/// <summary>
/// <see cref="HutchinsonCnf{TField}"/> with RNODE's regularisers as extra states: rows [z, Δlog p, ε, E_K, E_J] with
/// dE_K/dt = ‖f‖² and dE_J/dt = ‖(∂f/∂z)ε‖², an unbiased estimate of ‖∂f/∂z‖²_F with the same noise as the trace
/// estimate, fixed per solve (it rides in the state). Gradients: <see cref="CnfRegularizedCore{TField}"/>.
/// </summary>
public sealed class RegularizedHutchinsonCnf<TField> : IOdeDynamics<RegularizedHutchinsonCnf<TField>>, ICoarseRowChunks where TField : ICnfField<TField>
{
    private RegularizedHutchinsonCnf() { }

    public static int StateSize => 2 * TField.Dimension + 3;
    public static ReadOnlySpan<int> StateShape => new[] { 2 * TField.Dimension + 3 };
    public static int ParameterCount => TField.ParameterCount;
    public static ParameterLayout Layout => TField.Layout;
    public static int WorkspaceLength(int batch) => CnfRegularizedCore<TField>.WorkspaceLength(batch, true);

    public static void Evaluate<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => CnfRegularizedCore<TField>.Evaluate(true, t, h, theta, dh, batch, workspace);

    public static void VectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> cotangent,
        Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => CnfRegularizedCore<TField>.EvaluateAndVjp(true, t, h, theta, cotangent, default, gradH, gradTheta, gradT, batch, workspace);

    public static void EvaluateAndVectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> cotangent,
        Span<T> dh, Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => CnfRegularizedCore<TField>.EvaluateAndVjp(true, t, h, theta, cotangent, dh, gradH, gradTheta, gradT, batch, workspace);

    public static void JacobianVectorProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> tangent,
        Span<T> dh, Span<T> jvp, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => throw new NotSupportedException(
            $"{nameof(RegularizedHutchinsonCnf<TField>)}: a JVP of the augmented system needs the estimators' directional derivatives; use the field's Forward for (∂f/∂z)·v.");

    public static void EvaluateWithDivergence<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh, Span<T> divergence,
        int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
        => throw new NotSupportedException(
            $"{nameof(RegularizedHutchinsonCnf<TField>)} estimates the trace; its exact divergence is ExactTraceCnf's.");
}
