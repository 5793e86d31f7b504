using System.Numerics;
using System.Numerics.Tensors;
using OdeDsl.Tensors;

namespace OdeDsl.Bench.Micro;

/// <summary>
/// The generator's CNF field written by hand: h1 = tanh(W1·[h; t] + b1), h2 = tanh(W2·[h1; t] + b2),
/// f = W3·[h2; t] + b3 (2 → 64 → 64 → 2, FFJORD style: t appended to every layer's input), on the Tensors
/// kernels. The exact divergence is computed in forward mode, one tangent per state dimension.
/// Activations are kept as [B, 65] rows [a; t] so that every layer is one GEMM with the bias and tanh per row.
/// </summary>
public sealed class HandCnfField : IOdeDynamics<HandCnfField>
{
    private const int D = 2, In = D + 1, H = 64, HT = H + 1;
    private const int W1 = 0, B1 = W1 + H * In, W2 = B1 + H, B2 = W2 + H * HT, W3 = B2 + H, B3 = W3 + D * HT, Count = B3 + D;

    public static int StateSize => D;
    public static ReadOnlySpan<int> StateShape => new[] { D };
    public static int ParameterCount => Count;
    public static ParameterLayout Layout { get; } = new(
        new ParameterInfo("W1", [H, In], W1, ParameterInit.FanIn(In)), new ParameterInfo("b1", [H], B1, ParameterInit.FanIn(In)),
        new ParameterInfo("W2", [H, HT], W2, ParameterInit.FanIn(HT)), new ParameterInfo("b2", [H], B2, ParameterInit.FanIn(HT)),
        new ParameterInfo("W3", [D, HT], W3, ParameterInit.FanIn(HT)), new ParameterInfo("b3", [D], B3, ParameterInit.FanIn(HT)));

    // workspace: in0 [B, 3] | c1 [B, 65] | c2 [B, 65] | gA [B, 65] | gB [B, 65] | small [B, 3]
    public static int WorkspaceLength(int batch) => batch * (2 * In + 4 * HT);

    private static Span<T> In0<T>(Span<T> w, int b) => w[..(b * In)];
    private static Span<T> C1<T>(Span<T> w, int b) => w.Slice(b * In, b * HT);
    private static Span<T> C2<T>(Span<T> w, int b) => w.Slice(b * (In + HT), b * HT);
    private static Span<T> GA<T>(Span<T> w, int b) => w.Slice(b * (In + 2 * HT), b * HT);
    private static Span<T> GB<T>(Span<T> w, int b) => w.Slice(b * (In + 3 * HT), b * HT);
    private static Span<T> Small<T>(Span<T> w, int b) => w.Slice(b * (In + 4 * HT), b * In);

    /// <summary>c = [tanh(x·Wᵀ + bias); t] row by row, c with row stride 65.</summary>
    private static void Layer<T>(int batch, int inF, ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> bias, ReadOnlySpan<T> t, Span<T> c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Gemm.Multiply(false, true, batch, H, inF, T.One, x, inF, w, inF, T.Zero, c, HT);
        for (int b = 0; b < batch; b++)
        {
            var row = c.Slice(b * HT, H);
            TensorPrimitives.Add(row, bias, row);
            Activations.Tanh<T>(row, row);
            c[b * HT + H] = t[b];
        }
    }

    private static void Hidden<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, int batch, Span<T> w)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var in0 = In0(w, batch);
        for (int b = 0; b < batch; b++)
        {
            in0[b * In] = h[b * D]; in0[b * In + 1] = h[b * D + 1]; in0[b * In + 2] = t[b];
        }
        Layer(batch, In, in0, theta.Slice(W1, H * In), theta.Slice(B1, H), t, C1(w, batch));
        Layer(batch, HT, C1(w, batch), theta.Slice(W2, H * HT), theta.Slice(B2, H), t, C2(w, batch));
    }

    public static void Evaluate<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Hidden(t, h, theta, batch, workspace);
        Dense.Forward<T>(batch, HT, D, C2(workspace, batch), theta.Slice(W3, D * HT), theta.Slice(B3, D), dh[..(batch * D)]);
    }

    /// <summary>g[b, :64] = gc[b, :64]·(1 − a[b, :64]²) (rows of stride 65 in, 64 out), and gradT[b] += gc[b, 64].</summary>
    private static void ThroughTanh<T>(int batch, ReadOnlySpan<T> a, ReadOnlySpan<T> gc, Span<T> g, Span<T> gradT)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int b = 0; b < batch; b++)
        {
            Activations.TanhBackward<T>(a.Slice(b * HT, H), gc.Slice(b * HT, H), g.Slice(b * H, H));
            gradT[b] += gc[b * HT + H];
        }
    }

    public static void VectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> cotangent,
        Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Hidden(t, h, theta, batch, workspace);
        Span<T> c1 = C1(workspace, batch), c2 = C2(workspace, batch), gA = GA(workspace, batch), gB = GB(workspace, batch);
        Span<T> gIn = Small(workspace, batch);
        gradT[..batch].Clear();
        Dense.Backward<T>(batch, HT, D, c2, theta.Slice(W3, D * HT), cotangent[..(batch * D)], gA, gradTheta.Slice(W3, D * HT), gradTheta.Slice(B3, D));
        ThroughTanh<T>(batch, c2, gA, gB, gradT);
        Dense.Backward<T>(batch, HT, H, c1, theta.Slice(W2, H * HT), gB[..(batch * H)], gA, gradTheta.Slice(W2, H * HT), gradTheta.Slice(B2, H));
        ThroughTanh<T>(batch, c1, gA, gB, gradT);
        Dense.Backward<T>(batch, In, H, In0(workspace, batch), theta.Slice(W1, H * In), gB[..(batch * H)], gIn, gradTheta.Slice(W1, H * In), gradTheta.Slice(B1, H));
        for (int b = 0; b < batch; b++)
        {
            gradH[b * D] = gIn[b * In]; gradH[b * D + 1] = gIn[b * In + 1]; gradT[b] += gIn[b * In + 2];
        }
    }

    public static void JacobianVectorProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> tangent,
        Span<T> dh, Span<T> jvp, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Evaluate(t, h, theta, dh, batch, workspace);
        Span<T> gA = GA(workspace, batch), gB = GB(workspace, batch);
        // t carries no tangent, so every layer sees only its first columns: W1[:, :2], W2[:, :64], W3[:, :64].
        Gemm.Multiply(false, true, batch, H, D, T.One, tangent, D, theta.Slice(W1, H * In), In, T.Zero, gA, H);
        Slope(batch, C1(workspace, batch), gA);
        Gemm.Multiply(false, true, batch, H, H, T.One, gA, H, theta.Slice(W2, H * HT), HT, T.Zero, gB, H);
        Slope(batch, C2(workspace, batch), gB);
        Gemm.Multiply(false, true, batch, D, H, T.One, gB, H, theta.Slice(W3, D * HT), HT, T.Zero, jvp[..(batch * D)], D);
    }

    /// <summary>d[b, :] ∘= 1 − a[b, :64]² with a in rows of stride 65 and d in rows of 64.</summary>
    private static void Slope<T>(int batch, ReadOnlySpan<T> a, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int b = 0; b < batch; b++) Activations.TanhBackward<T>(a.Slice(b * HT, H), d.Slice(b * H, H), d.Slice(b * H, H));
    }

    public static void EvaluateWithDivergence<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh,
        Span<T> divergence, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Evaluate(t, h, theta, dh, batch, workspace);
        Span<T> c1 = C1(workspace, batch), c2 = C2(workspace, batch), gA = GA(workspace, batch), gB = GB(workspace, batch);
        Span<T> component = Small(workspace, batch)[..batch];
        divergence[..batch].Clear();
        for (int i = 0; i < D; i++)
        {
            // tangent e_i: ∂a1 = (1 − a1²)·W1[:, i]; ∂a2 = (1 − a2²)·(∂a1·W2[:, :64]ᵀ); (J e_i)_i = ∂a2·W3[i, :64]
            for (int k = 0; k < H; k++) gA[k] = theta[W1 + k * In + i];
            for (int b = 1; b < batch; b++) gA[..H].CopyTo(gA.Slice(b * H, H));
            Slope(batch, c1, gA);
            Gemm.Multiply(false, true, batch, H, H, T.One, gA, H, theta.Slice(W2, H * HT), HT, T.Zero, gB, H);
            Slope(batch, c2, gB);
            Gemm.Multiply(false, true, batch, 1, H, T.One, gB, H, theta.Slice(W3 + i * HT, H), H, T.Zero, component, 1);
            TensorPrimitives.Add(divergence[..batch], component, divergence[..batch]);
        }
    }
}
