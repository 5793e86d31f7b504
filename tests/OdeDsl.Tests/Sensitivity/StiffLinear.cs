using System.Numerics;

namespace OdeDsl.Tests.Sensitivity;

/// <summary>
/// Hand-written test system that cannot be integrated backwards: dh/dt = M h, θ = M row-major (4 entries).
/// With M = [[−15.5, 14.5], [14.5, −15.5]] the eigenvalues are −1 (along [1, 1]) and −30 (along [1, −1]): by t = 2 the
/// fast mode has decayed by e⁻⁶⁰ relative to the slow one — below rounding — so the final state has forgotten it and
/// integrating backwards cannot bring it back. The off-diagonal entries' gradients mix the modes, so the loss shows in dL/dθ.
/// </summary>
public sealed class StiffLinear : IOdeDynamics<StiffLinear>
{
    public static int StateSize => 2;
    public static ReadOnlySpan<int> StateShape => new[] { 2 };
    public static int ParameterCount => 4;
    public static ParameterLayout Layout { get; } = new(new ParameterInfo("M", [2, 2], 0, ParameterInit.Zeros));
    public static int WorkspaceLength(int batch) => 0;

    public static double[] DefaultTheta => [-15.5, 14.5, 14.5, -15.5];

    public static void Evaluate<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < batch; r++)
        {
            T x = h[2 * r], y = h[2 * r + 1];
            dh[2 * r] = theta[0] * x + theta[1] * y;
            dh[2 * r + 1] = theta[2] * x + theta[3] * y;
        }
    }

    public static void VectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> cotangent,
        Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < batch; r++)
        {
            T x = h[2 * r], y = h[2 * r + 1], cx = cotangent[2 * r], cy = cotangent[2 * r + 1];
            gradH[2 * r] = theta[0] * cx + theta[2] * cy;
            gradH[2 * r + 1] = theta[1] * cx + theta[3] * cy;
            gradTheta[0] += cx * x;
            gradTheta[1] += cx * y;
            gradTheta[2] += cy * x;
            gradTheta[3] += cy * y;
            gradT[r] = T.Zero;
        }
    }

    public static void JacobianVectorProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> tangent,
        Span<T> dh, Span<T> jvp, int batch, Span<T> workspace) where T : unmanaged, IFloatingPointIeee754<T>
        => throw new NotSupportedException("The sensitivity tests need only Evaluate and VectorJacobianProduct.");

    public static void EvaluateWithDivergence<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh,
        Span<T> divergence, int batch, Span<T> workspace) where T : unmanaged, IFloatingPointIeee754<T>
        => throw new NotSupportedException("The sensitivity tests need only Evaluate and VectorJacobianProduct.");
}
