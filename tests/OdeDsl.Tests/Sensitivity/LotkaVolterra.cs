using System.Numerics;

namespace OdeDsl.Tests.Sensitivity;

/// <summary>
/// Hand-written test system: Lotka-Volterra, dx/dt = αx − βxy, dy/dt = δxy − γy, θ = [α, β, δ, γ].
/// Autonomous (∂f/∂t = 0). Its VJP is checked against finite differences in <see cref="TestSystemTests"/>.
/// </summary>
public sealed class LotkaVolterra : IOdeDynamics<LotkaVolterra>
{
    public static int StateSize => 2;
    public static ReadOnlySpan<int> StateShape => new[] { 2 };
    public static int ParameterCount => 4;
    public static ParameterLayout Layout { get; } = new(new ParameterInfo("theta", [4], 0, ParameterInit.Ones));
    public static int WorkspaceLength(int batch) => 0;

    public static void Evaluate<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T a = theta[0], b = theta[1], d = theta[2], g = theta[3];
        for (int r = 0; r < batch; r++)
        {
            T x = h[2 * r], y = h[2 * r + 1];
            dh[2 * r] = a * x - b * x * y;
            dh[2 * r + 1] = d * x * y - g * y;
        }
    }

    public static void VectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> cotangent,
        Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T a = theta[0], b = theta[1], d = theta[2], g = theta[3];
        for (int r = 0; r < batch; r++)
        {
            T x = h[2 * r], y = h[2 * r + 1], cx = cotangent[2 * r], cy = cotangent[2 * r + 1];
            gradH[2 * r] = cx * (a - b * y) + cy * d * y;
            gradH[2 * r + 1] = -cx * b * x + cy * (d * x - g);
            gradTheta[0] += cx * x;
            gradTheta[1] -= cx * x * y;
            gradTheta[2] += cy * x * y;
            gradTheta[3] -= cy * y;
            gradT[r] = T.Zero;
        }
    }

    public static void JacobianVectorProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> tangent,
        Span<T> dh, Span<T> jvp, int batch, Span<T> workspace) where T : unmanaged, IFloatingPointIeee754<T>
        => throw new NotSupportedException("The sensitivity tests need only Evaluate and VectorJacobianProduct.");

    public static void EvaluateWithDivergence<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh,
        Span<T> divergence, int batch, Span<T> workspace) where T : unmanaged, IFloatingPointIeee754<T>
        => throw new NotSupportedException("The sensitivity tests need only Evaluate and VectorJacobianProduct.");

    /// <summary>A classic oscillating parameter set.</summary>
    public static double[] DefaultTheta => [1.5, 1.0, 1.0, 3.0];
}
