using System.Numerics;
using System.Numerics.Tensors;
using OdeDsl.Tensors;

namespace OdeDsl.Bench.Micro;

/// <summary>
/// An FFJORD-style CNF field, f(h, t) = W3·tanh(W2·tanh(W1·[h; t] + b1) + b2) + b3 (2 → 64 → 64 → 2, time as a
/// third input), written by hand against the IOdeDynamics contract with the Tensors kernels. The exact divergence
/// is computed in forward mode, one tangent per state dimension, as the generator does.
/// </summary>
public sealed class HandCnfField : IOdeDynamics<HandCnfField>
{
    private const int D = 2, In = D + 1, H = 64;
    private const int W1 = 0, B1 = W1 + H * In, W2 = B1 + H, B2 = W2 + H * H, W3 = B2 + H, B3 = W3 + D * H, Count = B3 + D;

    public static int StateSize => D;
    public static ReadOnlySpan<int> StateShape => new[] { D };
    public static int ParameterCount => Count;
    public static ParameterLayout Layout { get; } = new(
        new ParameterInfo("W1", [H, In], W1, ParameterInit.FanIn(In)), new ParameterInfo("b1", [H], B1, ParameterInit.FanIn(In)),
        new ParameterInfo("W2", [H, H], W2, ParameterInit.FanIn(H)), new ParameterInfo("b2", [H], B2, ParameterInit.FanIn(H)),
        new ParameterInfo("W3", [D, H], W3, ParameterInit.FanIn(H)), new ParameterInfo("b3", [D], B3, ParameterInit.FanIn(H)));

    // workspace: input [B, 3] | a1 [B, 64] | a2 [B, 64] | g1 [B, 64] | g2 [B, 64] | small [B, 3]
    public static int WorkspaceLength(int batch) => batch * (2 * In + 4 * H);

    private static Span<T> Input<T>(Span<T> w, int b) => w[..(b * In)];
    private static Span<T> A1<T>(Span<T> w, int b) => w.Slice(b * In, b * H);
    private static Span<T> A2<T>(Span<T> w, int b) => w.Slice(b * (In + H), b * H);
    private static Span<T> G1<T>(Span<T> w, int b) => w.Slice(b * (In + 2 * H), b * H);
    private static Span<T> G2<T>(Span<T> w, int b) => w.Slice(b * (In + 3 * H), b * H);
    private static Span<T> Small<T>(Span<T> w, int b) => w.Slice(b * (In + 4 * H), b * In);

    private static void Hidden<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, int batch, Span<T> w)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var input = Input(w, batch);
        for (int b = 0; b < batch; b++)
        {
            input[b * In] = h[b * D]; input[b * In + 1] = h[b * D + 1]; input[b * In + 2] = t[b];
        }
        var a1 = A1(w, batch); var a2 = A2(w, batch);
        Dense.Forward<T>(batch, In, H, input, theta.Slice(W1, H * In), theta.Slice(B1, H), a1);
        Activations.Tanh<T>(a1, a1);
        Dense.Forward<T>(batch, H, H, a1, theta.Slice(W2, H * H), theta.Slice(B2, H), a2);
        Activations.Tanh<T>(a2, a2);
    }

    public static void Evaluate<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Hidden(t, h, theta, batch, workspace);
        Dense.Forward<T>(batch, H, D, A2(workspace, batch), theta.Slice(W3, D * H), theta.Slice(B3, D), dh[..(batch * D)]);
    }

    public static void VectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> cotangent,
        Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Hidden(t, h, theta, batch, workspace);
        Span<T> a1 = A1(workspace, batch), a2 = A2(workspace, batch), g1 = G1(workspace, batch), g2 = G2(workspace, batch);
        Span<T> gIn = Small(workspace, batch);
        Dense.Backward<T>(batch, H, D, a2, theta.Slice(W3, D * H), cotangent[..(batch * D)], g2, gradTheta.Slice(W3, D * H), gradTheta.Slice(B3, D));
        Activations.TanhBackward<T>(a2, g2, g2);
        Dense.Backward<T>(batch, H, H, a1, theta.Slice(W2, H * H), g2, g1, gradTheta.Slice(W2, H * H), gradTheta.Slice(B2, H));
        Activations.TanhBackward<T>(a1, g1, g1);
        Dense.Backward<T>(batch, In, H, Input(workspace, batch), theta.Slice(W1, H * In), g1, gIn, gradTheta.Slice(W1, H * In), gradTheta.Slice(B1, H));
        for (int b = 0; b < batch; b++)
        {
            gradH[b * D] = gIn[b * In]; gradH[b * D + 1] = gIn[b * In + 1]; gradT[b] = gIn[b * In + 2];
        }
    }

    public static void JacobianVectorProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> tangent,
        Span<T> dh, Span<T> jvp, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Evaluate(t, h, theta, dh, batch, workspace);
        Span<T> g1 = G1(workspace, batch), g2 = G2(workspace, batch);
        // ∂z1 = W1[:, :2]·v (the time column sees no tangent): W1 viewed as [64, 3] with only 2 columns used.
        Gemm.Multiply(false, true, batch, H, D, T.One, tangent, D, theta.Slice(W1, H * In), In, T.Zero, g1, H);
        Activations.TanhBackward<T>(A1(workspace, batch), g1, g1);
        Gemm.Multiply(false, true, batch, H, H, T.One, g1, H, theta.Slice(W2, H * H), H, T.Zero, g2, H);
        Activations.TanhBackward<T>(A2(workspace, batch), g2, g2);
        Gemm.Multiply(false, true, batch, D, H, T.One, g2, H, theta.Slice(W3, D * H), H, T.Zero, jvp[..(batch * D)], D);
    }

    public static void EvaluateWithDivergence<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh,
        Span<T> divergence, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Evaluate(t, h, theta, dh, batch, workspace);
        Span<T> a1 = A1(workspace, batch), a2 = A2(workspace, batch), g1 = G1(workspace, batch), g2 = G2(workspace, batch);
        Span<T> component = Small(workspace, batch)[..batch];
        divergence[..batch].Clear();
        for (int i = 0; i < D; i++)
        {
            // tangent e_i: ∂a1 = (1 − a1²)·W1[:, i], ∂a2 = (1 − a2²)·(∂a1·W2ᵀ), (J e_i)_i = ∂a2·W3[i, :]
            for (int b = 0; b < batch; b++)
                for (int k = 0; k < H; k++) g1[b * H + k] = theta[W1 + k * In + i];
            TensorPrimitives.Multiply(a1, a1, g2);
            TensorPrimitives.Subtract(T.One, g2, g2);
            TensorPrimitives.Multiply(g1, g2, g1);
            Gemm.Multiply(false, true, batch, H, H, T.One, g1, H, theta.Slice(W2, H * H), H, T.Zero, g2, H);
            Activations.TanhBackward<T>(a2, g2, g2);
            Gemm.Multiply(false, true, batch, 1, H, T.One, g2, H, theta.Slice(W3 + i * H, H), H, T.Zero, component, 1);
            TensorPrimitives.Add(divergence[..batch], component, divergence[..batch]);
        }
    }
}
