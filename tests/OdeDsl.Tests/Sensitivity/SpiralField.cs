using System.Numerics;

namespace OdeDsl.Tests.Sensitivity;

/// <summary>
/// Hand-written test system: the ode_demo field f(y) = W2·tanh(W1·y³ + b1) + b2 with 50 hidden units,
/// θ = [W1 (50×2), b1 (50), W2 (2×50), b2 (2)] — the layout of the reference's mlp_seed0. Autonomous.
/// </summary>
public sealed class SpiralField : IOdeDynamics<SpiralField>
{
    public const int Hidden = 50;
    private const int W1 = 0, B1 = 2 * Hidden, W2 = B1 + Hidden, B2 = W2 + 2 * Hidden;

    public static int StateSize => 2;
    public static ReadOnlySpan<int> StateShape => new[] { 2 };
    public static int ParameterCount => B2 + 2;
    public static ParameterLayout Layout { get; } = new(
        new ParameterInfo("W1", [Hidden, 2], W1, ParameterInit.FanIn(2)),
        new ParameterInfo("b1", [Hidden], B1, ParameterInit.FanIn(2)),
        new ParameterInfo("W2", [2, Hidden], W2, ParameterInit.FanIn(Hidden)),
        new ParameterInfo("b2", [2], B2, ParameterInit.FanIn(Hidden)));
    public static int WorkspaceLength(int batch) => 0;

    public static void Evaluate<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> u = stackalloc T[Hidden];
        for (int r = 0; r < batch; r++)
        {
            T x = h[2 * r], y = h[2 * r + 1], x3 = x * x * x, y3 = y * y * y;
            for (int j = 0; j < Hidden; j++) u[j] = T.Tanh(theta[W1 + 2 * j] * x3 + theta[W1 + 2 * j + 1] * y3 + theta[B1 + j]);
            for (int o = 0; o < 2; o++)
            {
                T s = theta[B2 + o];
                for (int j = 0; j < Hidden; j++) s += theta[W2 + Hidden * o + j] * u[j];
                dh[2 * r + o] = s;
            }
        }
    }

    public static void VectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> cotangent,
        Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> u = stackalloc T[Hidden];
        T three = T.CreateChecked(3);
        for (int r = 0; r < batch; r++)
        {
            T x = h[2 * r], y = h[2 * r + 1], x3 = x * x * x, y3 = y * y * y, c0 = cotangent[2 * r], c1 = cotangent[2 * r + 1];
            for (int j = 0; j < Hidden; j++) u[j] = T.Tanh(theta[W1 + 2 * j] * x3 + theta[W1 + 2 * j + 1] * y3 + theta[B1 + j]);
            gradTheta[B2] += c0;
            gradTheta[B2 + 1] += c1;
            T gx3 = T.Zero, gy3 = T.Zero;
            for (int j = 0; j < Hidden; j++)
            {
                gradTheta[W2 + j] += c0 * u[j];
                gradTheta[W2 + Hidden + j] += c1 * u[j];
                T z = (theta[W2 + j] * c0 + theta[W2 + Hidden + j] * c1) * (T.One - u[j] * u[j]);
                gradTheta[W1 + 2 * j] += z * x3;
                gradTheta[W1 + 2 * j + 1] += z * y3;
                gradTheta[B1 + j] += z;
                gx3 += z * theta[W1 + 2 * j];
                gy3 += z * theta[W1 + 2 * j + 1];
            }
            gradH[2 * r] = gx3 * three * x * x;
            gradH[2 * r + 1] = gy3 * three * y * y;
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
