using System.Numerics;

namespace OdeDsl.Tests.Sensitivity;

/// <summary>
/// Hand-written test system: a 2→16→2 tanh MLP with time as a third input,
/// f(h, t) = W2·tanh(W1·[h; t] + b1) + b2. θ = [W1 (16×3), b1 (16), W2 (2×16), b2 (2)], row-major.
/// Non-autonomous, so ∂f/∂t ≠ 0 and the a_t channel is exercised.
/// </summary>
public sealed class MlpField : IOdeDynamics<MlpField>
{
    public const int Hidden = 16;
    private const int W1 = 0, B1 = Hidden * 3, W2 = B1 + Hidden, B2 = W2 + 2 * Hidden;

    public static int StateSize => 2;
    public static ReadOnlySpan<int> StateShape => new[] { 2 };
    public static int ParameterCount => B2 + 2;
    public static ParameterLayout Layout { get; } = new(
        new ParameterInfo("W1", [Hidden, 3], W1, ParameterInit.FanIn(3)),
        new ParameterInfo("b1", [Hidden], B1, ParameterInit.FanIn(3)),
        new ParameterInfo("W2", [2, Hidden], W2, ParameterInit.FanIn(Hidden)),
        new ParameterInfo("b2", [2], B2, ParameterInit.FanIn(Hidden)));
    public static int WorkspaceLength(int batch) => 0;

    public static void Evaluate<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> u = stackalloc T[Hidden];
        for (int r = 0; r < batch; r++)
        {
            T x = h[2 * r], y = h[2 * r + 1], tt = t[r];
            for (int j = 0; j < Hidden; j++)
                u[j] = T.Tanh(theta[W1 + 3 * j] * x + theta[W1 + 3 * j + 1] * y + theta[W1 + 3 * j + 2] * tt + theta[B1 + j]);
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
        for (int r = 0; r < batch; r++)
        {
            T x = h[2 * r], y = h[2 * r + 1], tt = t[r], c0 = cotangent[2 * r], c1 = cotangent[2 * r + 1];
            for (int j = 0; j < Hidden; j++)
                u[j] = T.Tanh(theta[W1 + 3 * j] * x + theta[W1 + 3 * j + 1] * y + theta[W1 + 3 * j + 2] * tt + theta[B1 + j]);
            gradTheta[B2] += c0;
            gradTheta[B2 + 1] += c1;
            T gx = T.Zero, gy = T.Zero, gt = T.Zero;
            for (int j = 0; j < Hidden; j++)
            {
                gradTheta[W2 + j] += c0 * u[j];
                gradTheta[W2 + Hidden + j] += c1 * u[j];
                T z = (theta[W2 + j] * c0 + theta[W2 + Hidden + j] * c1) * (T.One - u[j] * u[j]);
                gradTheta[W1 + 3 * j] += z * x;
                gradTheta[W1 + 3 * j + 1] += z * y;
                gradTheta[W1 + 3 * j + 2] += z * tt;
                gradTheta[B1 + j] += z;
                gx += z * theta[W1 + 3 * j];
                gy += z * theta[W1 + 3 * j + 1];
                gt += z * theta[W1 + 3 * j + 2];
            }
            gradH[2 * r] = gx;
            gradH[2 * r + 1] = gy;
            gradT[r] = gt;
        }
    }

    public static void JacobianVectorProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> tangent,
        Span<T> dh, Span<T> jvp, int batch, Span<T> workspace) where T : unmanaged, IFloatingPointIeee754<T>
        => throw new NotSupportedException("The sensitivity tests need only Evaluate and VectorJacobianProduct.");

    public static void EvaluateWithDivergence<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh,
        Span<T> divergence, int batch, Span<T> workspace) where T : unmanaged, IFloatingPointIeee754<T>
        => throw new NotSupportedException("The sensitivity tests need only Evaluate and VectorJacobianProduct.");

    /// <summary>Seeded weights, scaled up so the field bends trajectories noticeably over t ∈ [0, 2].</summary>
    public static double[] SeededTheta(int seed)
    {
        var theta = Layout.Initialize<double>(seed);
        for (int i = 0; i < theta.Length; i++) theta[i] *= 1.5;
        return theta;
    }
}
