using System.Numerics;
using System.Numerics.Tensors;
using OdeDsl.Tensors;

namespace OdeDsl.Bench.Micro;

/// <summary>
/// Batched Linear layers on the Tensors kernels, shared by the hand-written fields below: y = x·Wᵀ + b with W
/// stored [out, in] (PyTorch layout), and its backward pass.
/// </summary>
internal static class Dense
{
    public static void Forward<T>(int batch, int inF, int outF, ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> b, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Gemm.Multiply(false, true, batch, outF, inF, T.One, x, inF, w, inF, T.Zero, y, outF);
        RowOps.AddRowVector<T>(batch, outF, y, b, y);
    }

    /// <summary>gW += gyᵀ·x, gb += Σ_rows gy, and (unless empty) gx = gy·W.</summary>
    public static void Backward<T>(int batch, int inF, int outF, ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> gy,
        Span<T> gx, Span<T> gW, Span<T> gb)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Gemm.Multiply(true, false, outF, inF, batch, T.One, gy, outF, x, inF, T.One, gW, inF);
        RowOps.AccumulateColumnSums(batch, outF, gy, gb);
        if (!gx.IsEmpty) Gemm.Multiply(false, false, batch, inF, outF, T.One, gy, outF, w, inF, T.Zero, gx, inF);
    }
}

/// <summary>
/// The spiral demo's field f(h) = W2·tanh(W1·h³ + b1) + b2 (2 → 50 → 2), written by hand against the
/// IOdeDynamics contract with the Tensors kernels: the floor that generated code can be compared with.
/// </summary>
public sealed class HandSpiralField : IOdeDynamics<HandSpiralField>
{
    private const int D = 2, H = 50;
    private const int W1 = 0, B1 = W1 + H * D, W2 = B1 + H, B2 = W2 + D * H, Count = B2 + D;

    public static int StateSize => D;
    public static ReadOnlySpan<int> StateShape => new[] { D };
    public static int ParameterCount => Count;
    public static ParameterLayout Layout { get; } = new(
        new ParameterInfo("W1", [H, D], W1, ParameterInit.FanIn(D)), new ParameterInfo("b1", [H], B1, ParameterInit.FanIn(D)),
        new ParameterInfo("W2", [D, H], W2, ParameterInit.FanIn(H)), new ParameterInfo("b2", [D], B2, ParameterInit.FanIn(H)));

    // workspace: cube [B, 2] | hidden [B, 50] | hidden gradient [B, 50] | small [B, 2]
    public static int WorkspaceLength(int batch) => batch * (2 * D + 2 * H);

    public static void Evaluate<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (cube, hidden, _, _) = Split(workspace, batch);
        Forward(h, theta, batch, cube, hidden);
        Dense.Forward<T>(batch, H, D, hidden, theta.Slice(W2, D * H), theta.Slice(B2, D), dh[..(batch * D)]);
    }

    private static void Forward<T>(ReadOnlySpan<T> h, ReadOnlySpan<T> theta, int batch, Span<T> cube, Span<T> hidden)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var hb = h[..(batch * D)];
        TensorPrimitives.Multiply(hb, hb, cube);
        TensorPrimitives.Multiply(cube, hb, cube);
        Dense.Forward<T>(batch, D, H, cube, theta.Slice(W1, H * D), theta.Slice(B1, H), hidden);
        Activations.Tanh<T>(hidden, hidden);
    }

    public static void VectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> cotangent,
        Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (cube, hidden, gHidden, gCube) = Split(workspace, batch);
        Forward(h, theta, batch, cube, hidden);
        var g = cotangent[..(batch * D)];
        Dense.Backward<T>(batch, H, D, hidden, theta.Slice(W2, D * H), g, gHidden, gradTheta.Slice(W2, D * H), gradTheta.Slice(B2, D));
        Activations.TanhBackward<T>(hidden, gHidden, gHidden);
        Dense.Backward<T>(batch, D, H, cube, theta.Slice(W1, H * D), gHidden, gCube, gradTheta.Slice(W1, H * D), gradTheta.Slice(B1, H));
        // d(h³)/dh = 3h²
        var hb = h[..(batch * D)];
        TensorPrimitives.Multiply(hb, hb, gradH[..(batch * D)]);
        TensorPrimitives.Multiply(gradH[..(batch * D)], T.CreateChecked(3), gradH[..(batch * D)]);
        TensorPrimitives.Multiply(gradH[..(batch * D)], gCube, gradH[..(batch * D)]);
        gradT[..batch].Clear();
    }

    public static void JacobianVectorProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> tangent,
        Span<T> dh, Span<T> jvp, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (cube, hidden, dHidden, dCube) = Split(workspace, batch);
        Evaluate(t, h, theta, dh, batch, workspace);
        var hb = h[..(batch * D)];
        TensorPrimitives.Multiply(hb, hb, dCube);
        TensorPrimitives.Multiply(dCube, T.CreateChecked(3), dCube);
        TensorPrimitives.Multiply(dCube, tangent[..(batch * D)], dCube);
        Gemm.Multiply(false, true, batch, H, D, T.One, dCube, D, theta.Slice(W1, H * D), D, T.Zero, dHidden, H);
        Activations.TanhBackward<T>(hidden, dHidden, dHidden); // (1 − a²)·dz
        Gemm.Multiply(false, true, batch, D, H, T.One, dHidden, H, theta.Slice(W2, D * H), H, T.Zero, jvp[..(batch * D)], D);
    }

    public static void EvaluateWithDivergence<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh,
        Span<T> divergence, int batch, Span<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // tr(∂f/∂h) = Σ_k (1 − a_k²) Σ_i W2[i,k]·W1[k,i]·3h_i²: one [B,50]·[50,2] product against M[k,i] = W2[i,k]·W1[k,i].
        var (_, hidden, slope, per) = Split(workspace, batch);
        Evaluate(t, h, theta, dh, batch, workspace);
        Span<T> m = stackalloc T[H * D];
        for (int k = 0; k < H; k++)
            for (int i = 0; i < D; i++) m[k * D + i] = theta[W2 + i * H + k] * theta[W1 + k * D + i];
        TensorPrimitives.Multiply(hidden, hidden, slope);
        TensorPrimitives.Subtract(T.One, slope, slope);
        Gemm.Multiply(false, false, batch, D, H, T.One, slope, H, m, D, T.Zero, per, D);
        for (int b = 0; b < batch; b++)
        {
            T x0 = h[b * D], x1 = h[b * D + 1];
            divergence[b] = T.CreateChecked(3) * (per[b * D] * x0 * x0 + per[b * D + 1] * x1 * x1);
        }
    }

    private static Buffers<T> Split<T>(Span<T> w, int batch) => new(w, batch);

    private readonly ref struct Buffers<T>(Span<T> w, int batch)
    {
        private readonly Span<T> _w = w;
        private readonly int _batch = batch;

        public void Deconstruct(out Span<T> cube, out Span<T> hidden, out Span<T> hiddenGrad, out Span<T> small)
        {
            cube = _w[..(_batch * D)];
            hidden = _w.Slice(_batch * D, _batch * H);
            hiddenGrad = _w.Slice(_batch * (D + H), _batch * H);
            small = _w.Slice(_batch * (D + 2 * H), _batch * D);
        }
    }
}
