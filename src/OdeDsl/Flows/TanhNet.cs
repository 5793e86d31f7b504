using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using OdeDsl.Tensors;

namespace OdeDsl.Flows;

/// <summary>
/// The shape of a tanh network with per-call effective weights: widths w₀ = d, w₁ … w_L hidden, w_{L+1} = d.
/// Layer l computes a_l = s_l ⊙ (W_l x_{l−1}) + c_l (s_l only where <see cref="HasScale"/>), x_l = tanh(a_l) for the
/// hidden layers and f = a_{L+1}. The CNF fields map (θ, t) to (W_l, s_l, c_l) once per call (time concatenation,
/// concatsquash gating, a hypernetwork) and back in reverse, so the batched work below is shared by all of them.
/// </summary>
internal sealed class NetShape
{
    public NetShape(int[] widths, bool[] hasScale)
    {
        if (widths.Length < 2 || widths[0] != widths[^1])
            throw new ArgumentException("A CNF network maps d to d: at least two widths, the first equal to the last.", nameof(widths));
        if (hasScale.Length != widths.Length - 1)
            throw new ArgumentException("One scale flag per layer.", nameof(hasScale));
        Widths = widths;
        HasScale = hasScale;
        Layers = widths.Length - 1;
        WOffset = new int[Layers + 1];
        SOffset = new int[Layers + 1];
        COffset = new int[Layers + 1];
        int o = 0;
        for (int l = 1; l <= Layers; l++)
        {
            WOffset[l] = o; o += widths[l] * widths[l - 1];
            SOffset[l] = o; o += widths[l];
            COffset[l] = o; o += widths[l];
        }
        EffectiveLength = o;
        MaxWidth = widths.Max();
        // per stacked row: X_0..X_{L} (inputs of every layer), M_l and A_l for l = 1..L+1
        int perRow = 0;
        for (int l = 0; l < Layers; l++) perRow += widths[l];
        for (int l = 1; l <= Layers; l++) perRow += 2 * widths[l];
        PerRow = perRow + 2 * MaxWidth; // plus the two backward buffers (Ā, X̄)
    }

    public int[] Widths { get; }
    public bool[] HasScale { get; }
    /// <summary>Number of affine layers (hidden layers + 1).</summary>
    public int Layers { get; }
    public int[] WOffset { get; }
    public int[] SOffset { get; }
    public int[] COffset { get; }
    /// <summary>Length of one set of effective weights (W, s, c of every layer).</summary>
    public int EffectiveLength { get; }
    public int MaxWidth { get; }
    private int PerRow { get; }
    public int Dimension => Widths[0];

    /// <summary>Scratch of the exact-trace shortcut (C, P, P̄ and a vector).</summary>
    public int TraceLength => 3 * MaxWidth * MaxWidth + MaxWidth;

    /// <summary>
    /// Whether <see cref="TanhNet.ForwardTrace{T}"/> can skip the tangent rows: no scales and one or two hidden layers,
    /// where tr(∂f/∂z) collapses to a per-call vector (one layer) or matrix (two) between the activations' derivatives.
    /// </summary>
    public bool HasTraceShortcut => !HasScale.Any(x => x) && (Layers == 2 || Layers == 3);

    /// <summary>Effective weights, their gradients, the trace scratch, and the stacked rows of (1 + K)·batch.</summary>
    public int WorkspaceLength(int batch, int directions) => 2 * EffectiveLength + TraceLength + (1 + directions) * batch * PerRow;
}

/// <summary>
/// Batched forward and reverse sweeps of a <see cref="NetShape"/> network together with K tangent streams:
/// rows [0, B) carry the primal x, rows [kB, (k+1)B) the tangent (∂x/∂z)·v_k. One GEMM per layer serves all
/// (1 + K)·B rows. The reverse sweep differentiates both the primal and the tangent computations (reverse over
/// forward), which is what the gradient of a trace or a Jacobian-vector product with respect to θ and z needs.
/// </summary>
internal static class TanhNet
{
    /// <summary>Workspace carving: effective weights, their gradients, then per-layer row blocks.</summary>
    internal readonly ref struct Frame<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public readonly Span<T> Eff, EffGrad, Trace, Rows;
        public readonly int Batch, Directions, R;
        private readonly NetShape _shape;

        public Frame(NetShape shape, Span<T> ws, int batch, int directions)
        {
            _shape = shape;
            Batch = batch;
            Directions = directions;
            R = (1 + directions) * batch;
            Eff = ws.Slice(0, shape.EffectiveLength);
            EffGrad = ws.Slice(shape.EffectiveLength, shape.EffectiveLength);
            Trace = ws.Slice(2 * shape.EffectiveLength, shape.TraceLength);
            Rows = ws.Slice(2 * shape.EffectiveLength + shape.TraceLength);
        }

        /// <summary>X_l, the input of layer l + 1 (X_0 = [z; v_1 … v_K]).</summary>
        public Span<T> X(int l)
        {
            int o = 0;
            for (int i = 0; i < l; i++) o += _shape.Widths[i];
            return Rows.Slice(o * R, _shape.Widths[l] * R);
        }

        /// <summary>M_l = X_{l−1}·W_lᵀ (before scale and shift); written for layers with a scale only, otherwise scratch.</summary>
        public Span<T> M(int l) => Rows.Slice(MOffset(l) * R, _shape.Widths[l] * R);

        /// <summary>
        /// A_l: the pre-activation (primal rows) and the tangent pre-activation (tangent rows). The primal rows of a hidden
        /// layer without a scale hold W_l x_{l−1} before the bias (the bias is added on the way into tanh); nothing reads them.
        /// </summary>
        public Span<T> A(int l) => Rows.Slice((MOffset(l) + _shape.Widths[l]) * R, _shape.Widths[l] * R);

        public Span<T> BarA => Rows.Slice(End * R, _shape.MaxWidth * R);
        public Span<T> BarX => Rows.Slice((End + _shape.MaxWidth) * R, _shape.MaxWidth * R);

        private int MOffset(int l)
        {
            int o = 0;
            for (int i = 0; i < _shape.Layers; i++) o += _shape.Widths[i];
            for (int i = 1; i < l; i++) o += 2 * _shape.Widths[i];
            return o;
        }

        private int End => MOffset(_shape.Layers + 1);

        public Span<T> W(int l) => Eff.Slice(_shape.WOffset[l], _shape.Widths[l] * _shape.Widths[l - 1]);
        public Span<T> S(int l) => Eff.Slice(_shape.SOffset[l], _shape.Widths[l]);
        public Span<T> C(int l) => Eff.Slice(_shape.COffset[l], _shape.Widths[l]);
        public Span<T> GradW(int l) => EffGrad.Slice(_shape.WOffset[l], _shape.Widths[l] * _shape.Widths[l - 1]);
        public Span<T> GradS(int l) => EffGrad.Slice(_shape.SOffset[l], _shape.Widths[l]);
        public Span<T> GradC(int l) => EffGrad.Slice(_shape.COffset[l], _shape.Widths[l]);
    }

    /// <summary>
    /// f = net(z) and jv_k = (∂f/∂z)·v_k, with the effective weights already in the frame.
    /// z is [B, d]; v and jv are [K·B, d] (direction-major); f is [B, d]. Leaves what <see cref="Backward{T}"/> reads.
    /// </summary>
    public static void Forward<T>(NetShape shape, in Frame<T> fr, ReadOnlySpan<T> z, ReadOnlySpan<T> v, Span<T> f, Span<T> jv)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int B = fr.Batch, d = shape.Dimension;
        var x0 = fr.X(0);
        z.Slice(0, B * d).CopyTo(x0);
        v.Slice(0, fr.Directions * B * d).CopyTo(x0.Slice(B * d));
        Run(shape, fr, fr.R);
        var aOut = fr.A(shape.Layers);
        aOut.Slice(0, B * d).CopyTo(f);
        aOut.Slice(B * d, fr.Directions * B * d).CopyTo(jv);
    }

    /// <summary>
    /// The layers over the first <paramref name="R"/> stacked rows (R = B: the primal rows only), all of them or the
    /// first <paramref name="layers"/> (up to x_layers). With <paramref name="d1"/> (primal rows only, the first layer hidden and
    /// without a scale), D₁ = 1 − x₁² goes there as well, formed in the tanh's pass where it can be (the trace shortcut's).
    /// </summary>
    private static void Run<T>(NetShape shape, in Frame<T> fr, int R, int layers = int.MaxValue, Span<T> d1 = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int B = fr.Batch;
        for (int l = 1; l <= Math.Min(layers, shape.Layers); l++)
        {
            int wo = shape.Widths[l], wi = shape.Widths[l - 1];
            var a = fr.A(l);
            var x = l < shape.Layers ? fr.X(l) : default;
            if (shape.HasScale[l - 1])
            {
                var m = fr.M(l);   // the reverse sweep reads M for the scale's gradient
                Gemm.Multiply<T>(false, true, R, wo, wi, T.One, fr.X(l - 1), wi, fr.W(l), wi, T.Zero, m, wo);
                ScaleRows(R, wo, m, fr.S(l), a);
                RowOps.AddRowVector<T>(B, wo, a.Slice(0, B * wo), fr.C(l), a.Slice(0, B * wo));
                if (l < shape.Layers) Activations.Tanh<T>(a.Slice(0, B * wo), x.Slice(0, B * wo));
            }
            else
            {
                // Straight into A; a hidden layer's primal rows then go through the bias and tanh in one pass into x (its
                // pre-activation is never read again: only the tangent rows of A are), the output layer's get the bias.
                Gemm.Multiply<T>(false, true, R, wo, wi, T.One, fr.X(l - 1), wi, fr.W(l), wi, T.Zero, a, wo);
                if (l == 1 && !d1.IsEmpty) BiasTanhAndDerivative(B, wo, a.Slice(0, B * wo), fr.C(l), x.Slice(0, B * wo), d1);
                else if (l < shape.Layers) BiasActivations.Tanh<T>(B, wo, a.Slice(0, B * wo), fr.C(l), x.Slice(0, B * wo));
                else RowOps.AddRowVector<T>(B, wo, a.Slice(0, B * wo), fr.C(l), a.Slice(0, B * wo));
            }
            if (l == shape.Layers) break;
            // tangent rows: u = (1 − x²) ⊙ p = p − (x ⊙ x) ⊙ p, in vectorised passes
            int n = B * wo;
            var xp = x.Slice(0, n);
            for (int k = 1; k < R / B; k++)
            {
                var p = a.Slice(k * n, n);
                var u = x.Slice(k * n, n);
                TensorPrimitives.Multiply<T>(xp, xp, u);
                TensorPrimitives.Multiply<T>(u, p, u);
                TensorPrimitives.Subtract<T>(p, u, u);
            }
        }
    }

    /// <summary>
    /// Reverse sweep after <see cref="Forward{T}"/> at the same point: given cotangents of f ([B, d]) and of every jv_k
    /// ([K·B, d]), writes ∂/∂z into gradZ, ∂/∂v_k into gradV (when not empty; [K·B, d]) and ADDS the effective weights'
    /// gradients into the frame's EffGrad (which the caller clears).
    /// </summary>
    public static void Backward<T>(NetShape shape, in Frame<T> fr, ReadOnlySpan<T> cotF, ReadOnlySpan<T> cotJv,
        Span<T> gradZ, Span<T> gradV)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int B = fr.Batch, R = fr.R, d = shape.Dimension, L = shape.Layers;
        var barA = fr.BarA;
        var barX = fr.BarX;
        cotF.Slice(0, B * d).CopyTo(barA);
        cotJv.Slice(0, fr.Directions * B * d).CopyTo(barA.Slice(B * d));
        for (int l = L; l >= 1; l--)
        {
            int wo = shape.Widths[l], wi = shape.Widths[l - 1];
            var g = barA.Slice(0, R * wo);
            RowOps.AccumulateColumnSums<T>(B, wo, g.Slice(0, B * wo), fr.GradC(l));
            if (shape.HasScale[l - 1])
            {
                AccumulateProductColumnSums(R, wo, g, fr.M(l), fr.GradS(l));
                ScaleRows(R, wo, g, fr.S(l), g);
            }
            Gemm.Multiply<T>(true, false, wo, wi, R, T.One, g, wo, fr.X(l - 1), wi, T.One, fr.GradW(l), wi);
            if (l == 1)
            {
                // z's gradient from the primal rows; v's (when asked) from the tangent rows
                Gemm.Multiply<T>(false, false, B, wi, wo, T.One, g, wo, fr.W(l), wi, T.Zero, gradZ, wi);
                if (!gradV.IsEmpty)
                    Gemm.Multiply<T>(false, false, R - B, wi, wo, T.One, g.Slice(B * wo), wo, fr.W(l), wi, T.Zero, gradV, wi);
                break;
            }
            var bx = barX.Slice(0, R * wi);
            Gemm.Multiply<T>(false, false, R, wi, wo, T.One, g, wo, fr.W(l), wi, T.Zero, bx, wi);
            // through x = tanh(a), u_k = (1 − x²) ⊙ p_k: ā = D ⊙ (x̄ − 2x Σ_k ū_k ⊙ p_k), p̄_k = D ⊙ ū_k
            int n = B * wi;
            var x = fr.X(l - 1).Slice(0, n);
            var pre = fr.A(l - 1);
            var na = barA.Slice(0, R * wi);
            for (int i = 0; i < n; i++)
            {
                T xi = x[i], D = T.One - xi * xi, s = T.Zero;
                for (int k = 1; k <= fr.Directions; k++)
                {
                    T ub = bx[k * n + i];
                    s += ub * pre[k * n + i];
                    na[k * n + i] = D * ub;
                }
                na[i] = D * (bx[i] - (xi + xi) * s);
            }
        }
    }

    /// <summary>
    /// Whether the trace shortcut fuses its element-wise passes: D₁ = 1 − x₁² in the first tanh's pass
    /// (<see cref="BiasTanhAndDerivative{T}"/>) and, with two hidden layers, the reverse sweep's work in two passes
    /// (<see cref="BackwardTraceTwoHidden{T}"/>). Tests switch it off to compare with the pass-per-operation path, bit for bit.
    /// </summary>
    internal static bool FusedTraceSweep = true;

    /// <summary>The fused sweep applies: two hidden layers with the trace shortcut, on AVX-512 for float or double.</summary>
    internal static bool FusesTraceSweep<T>(NetShape shape) where T : unmanaged
        => FusedTraceSweep && shape.HasTraceShortcut && shape.Layers == 3 && Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported;

    /// <summary>
    /// f and the exact trace tr(∂f/∂z) per row. With <see cref="NetShape.HasTraceShortcut"/>, only the primal rows run:
    /// one hidden layer gives tr = Σₙ cₙ(1 − x₁ₙ²) with cₙ = Σⱼ W₂[j, n]W₁[n, j]; two give tr = D₂ᵀ P D₁ with
    /// P = W₂ ⊙ C, C = W₃ᵀW₁ᵀ, Dₗ = 1 − xₗ² (the chain rule's diagonal factors pulled out of the trace). Otherwise the d
    /// basis directions run as tangent rows. The frame must have d directions.
    /// </summary>
    public static void ForwardTrace<T>(NetShape shape, in Frame<T> fr, ReadOnlySpan<T> z, Span<T> f, Span<T> trace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int B = fr.Batch, d = shape.Dimension;
        var x0 = fr.X(0);
        z.Slice(0, B * d).CopyTo(x0);
        if (!shape.HasTraceShortcut)
        {
            var v = x0.Slice(B * d, d * B * d);
            v.Clear();
            for (int j = 0; j < d; j++)
                for (int b = 0; b < B; b++) v[(j * B + b) * d + j] = T.One;
            Run(shape, fr, fr.R);
            var outRows = fr.A(shape.Layers);
            outRows.Slice(0, B * d).CopyTo(f);
            for (int b = 0; b < B; b++)
            {
                T q = T.Zero;
                for (int j = 0; j < d; j++) q += outRows[((1 + j) * B + b) * d + j];
                trace[b] = q;
            }
            return;
        }
        int w1 = shape.Widths[1];
        var D1 = fr.X(1).Slice(B * w1, B * w1);   // D₁ = 1 − x₁² in the free tangent rows, kept for the reverse sweep
        Run(shape, fr, B, d1: D1);
        fr.A(shape.Layers).Slice(0, B * d).CopyTo(f);
        TraceMatrices(shape, fr);
        if (shape.Layers == 2)
        {
            var c = fr.Trace.Slice(0, w1);
            for (int b = 0; b < B; b++) trace[b] = TensorPrimitives.Dot<T>(D1.Slice(b * w1, w1), c);
            return;
        }
        int w2 = shape.Widths[2];
        Span<T> P = fr.Trace.Slice(w2 * w1, w2 * w1);
        var Y = fr.A(2).Slice(B * w2, B * w2);
        Gemm.Multiply<T>(false, true, B, w2, w1, T.One, D1, w1, P, w1, T.Zero, Y, w2);
        var D2 = fr.X(2).Slice(B * w2, B * w2);   // for the unfused reverse sweep
        if (FusesTraceSweep<T>(shape) && w2 % Vector512<T>.Count == 0 && w2 <= 8 * Vector512<T>.Count)
        {
            TraceOfTwoHidden(B, w2, fr.X(2).Slice(0, B * w2), Y, D2, trace);
            return;
        }
        OneMinusSquare(fr.X(2).Slice(0, B * w2), D2);
        for (int b = 0; b < B; b++) trace[b] = TensorPrimitives.Dot<T>(D2.Slice(b * w2, w2), Y.Slice(b * w2, w2));
    }

    /// <summary>
    /// D₂ = 1 − x₂² and trace[r] = D₂[r, :]·Y[r, :] in one pass over the rows. The dot is TensorPrimitives.Dot's for rows of
    /// 1 to 8 whole AVX-512 vectors (products added vector by vector from zero, in order, then Vector512.Sum), so the trace
    /// has its bits (tests compare with the unfused path); it saves the per-row calls and a second pass over D₂.
    /// </summary>
    private static void TraceOfTwoHidden<T>(int rows, int w, ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d, Span<T> trace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = rows * w;
        if (x.Length < n || y.Length < n || d.Length < n || trace.Length < rows)
            throw new ArgumentException("TraceOfTwoHidden: extents out of range.");
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y);
        ref T dr = ref MemoryMarshal.GetReference(d);
        for (int r = 0; r < rows; r++)
        {
            nuint o = (nuint)(r * w);
            var acc = Vector512<T>.Zero;
            for (int j = 0; j < w; j += Vector512<T>.Count)
            {
                nuint i = o + (nuint)j;
                var xv = Vector512.LoadUnsafe(ref xr, i);
                var dv = Vector512<T>.One - xv * xv;
                dv.StoreUnsafe(ref dr, i);
                acc += dv * Vector512.LoadUnsafe(ref yr, i);
            }
            trace[r] = Vector512.Sum(acc);
        }
    }

    /// <summary>
    /// The per-call matrices of the trace shortcut, from the effective weights alone: c (one hidden layer) or C = W₃ᵀW₁ᵀ
    /// and P = W₂ ⊙ C (two), in the frame's trace scratch.
    /// </summary>
    private static void TraceMatrices<T>(NetShape shape, in Frame<T> fr) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = shape.Dimension, w1 = shape.Widths[1];
        if (shape.Layers == 2)
        {
            var c = fr.Trace.Slice(0, w1);
            var W1 = fr.W(1); var W2 = fr.W(2);
            for (int n = 0; n < w1; n++)
            {
                T cn = T.Zero;
                for (int j = 0; j < d; j++) cn += W2[j * w1 + n] * W1[n * d + j];
                c[n] = cn;
            }
            return;
        }
        int w2 = shape.Widths[2];
        Span<T> C = fr.Trace.Slice(0, w2 * w1), P = fr.Trace.Slice(w2 * w1, w2 * w1);
        Gemm.Multiply<T>(true, true, w2, w1, d, T.One, fr.W(3), w2, fr.W(1), d, T.Zero, C, w1);
        TensorPrimitives.Multiply<T>(fr.W(2), C, P);
    }

    /// <summary>
    /// Elements per row that <see cref="KeepTrace{T}"/> saves: with two hidden layers, x₂ and the trace's Y = D₁Pᵀ, each the
    /// result of a [B, w] × [w, w] GEMM (x₁ = tanh(W₁z + c₁) has an inner dimension of d and is recomputed: cheaper than
    /// its trip through memory). 0 otherwise (one hidden layer has no such product; no trace shortcut, nothing to keep).
    /// </summary>
    public static int TraceKeptPerRow(NetShape shape) => shape.HasTraceShortcut && shape.Layers == 3 ? 2 * shape.Widths[2] : 0;

    /// <summary>After <see cref="ForwardTrace{T}"/>: x₂ and Y of the batch rows into <paramref name="kept"/>, [x₂ (B·w₂) | Y (B·w₂)].</summary>
    public static void KeepTrace<T>(NetShape shape, in Frame<T> fr, Span<T> kept) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int B = fr.Batch, w2 = shape.Widths[2];
        StreamingCopy.Copy<T>(fr.X(2).Slice(0, B * w2), kept);   // read back in the reverse sweep, long after
        StreamingCopy.Copy<T>(fr.A(2).Slice(B * w2, B * w2), kept.Slice(B * w2));
    }

    /// <summary>
    /// Puts back what <see cref="ForwardTrace{T}"/> left for <see cref="BackwardTrace{T}"/> at (z, the effective weights
    /// already in the frame), except x₂ and Y, which BackwardTrace then reads from <paramref name="kept"/>: z, x₁ (its thin
    /// first layer run again), D = 1 − x² and the trace matrices (products of the weights alone). The same values, bit for
    /// bit; the batched [B, w] × [w, w] GEMMs are not repeated. D₂ only for the unfused sweep (<paramref name="fused"/> false:
    /// the caller decides once for both calls, so a switch flipped in between cannot pair them wrongly).
    /// </summary>
    public static void RestoreTrace<T>(NetShape shape, in Frame<T> fr, ReadOnlySpan<T> z, ReadOnlySpan<T> kept, bool fused)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int B = fr.Batch, d = shape.Dimension, w1 = shape.Widths[1], w2 = shape.Widths[2];
        z.Slice(0, B * d).CopyTo(fr.X(0));
        Run(shape, fr, B, layers: 1, d1: fr.X(1).Slice(B * w1, B * w1));
        TraceMatrices(shape, fr);
        if (!fused) OneMinusSquare(kept.Slice(0, B * w2), fr.X(2).Slice(B * w2, B * w2));   // the fused sweep forms D₂ itself
    }

    /// <summary>
    /// Reverse of <see cref="ForwardTrace{T}"/> (just called at the same point): cotangents of f ([B, d]) and of the
    /// trace ([B]) → gradZ, and the effective weights' gradients ADDED into EffGrad (which the caller clears).
    /// </summary>
    /// <remarks>
    /// With <paramref name="kept"/> (from <see cref="KeepTrace{T}"/>, after <see cref="RestoreTrace{T}"/>), x₂ and Y are read
    /// from it where they are used instead of from the frame: no copy of them into the workspace first.
    /// </remarks>
    public static void BackwardTrace<T>(NetShape shape, in Frame<T> fr, ReadOnlySpan<T> cotF, ReadOnlySpan<T> cotTrace, Span<T> gradZ,
        ReadOnlySpan<T> kept = default, bool? fused = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int B = fr.Batch, d = shape.Dimension, L = shape.Layers;
        if (!shape.HasTraceShortcut)
        {
            var cotJv = fr.BarX.Slice(0, d * B * d);   // Backward copies it into Ā before it uses X̄
            cotJv.Clear();
            for (int j = 0; j < d; j++)
                for (int b = 0; b < B; b++) cotJv[(j * B + b) * d + j] = cotTrace[b];
            Backward(shape, fr, cotF, cotJv, gradZ, default);
            return;
        }
        if (fused ?? FusesTraceSweep<T>(shape))
        {
            BackwardTraceTwoHidden(shape, fr, cotF, cotTrace, gradZ, kept);
            return;
        }
        var barA = fr.BarA;
        var barX = fr.BarX;
        var keptY = kept.IsEmpty ? default : kept.Slice(B * shape.Widths[2], B * shape.Widths[2]);
        cotF.Slice(0, B * d).CopyTo(barA);
        for (int l = L; l >= 1; l--)
        {
            int wo = shape.Widths[l], wi = shape.Widths[l - 1];
            var g = barA.Slice(0, B * wo);
            // x_{l−1}: the frame's, or x₂ as kept
            ReadOnlySpan<T> x = l - 1 == 2 && !kept.IsEmpty ? kept.Slice(0, B * wi) : fr.X(l - 1).Slice(0, B * wi);
            RowOps.AccumulateColumnSums<T>(B, wo, g, fr.GradC(l));
            Gemm.Multiply<T>(true, false, wo, wi, B, T.One, g, wo, x, wi, T.One, fr.GradW(l), wi);
            var bx = l == 1 ? gradZ : barX.Slice(0, B * wi);
            Gemm.Multiply<T>(false, false, B, wi, wo, T.One, g, wo, fr.W(l), wi, T.Zero, bx, wi);
            if (l == 1) break;
            // ā_{l−1} = x̄ ⊙ D + D̄ ⊙ ∂D/∂a with D = 1 − x², ∂D/∂a = −2x·D, D̄ the trace's cotangent on D
            var Dbar = TraceCotangentOnD(shape, fr, l - 1, cotTrace, keptY);
            var na = barA.Slice(0, B * wi);
            // na = D ⊙ (x̄ − 2x ⊙ D̄), D = 1 − x² as ForwardTrace left it in the layer's tangent slot; D̄ is ours to overwrite
            TensorPrimitives.Multiply<T>(x, Dbar, Dbar);
            TensorPrimitives.MultiplyAdd<T>(Dbar, T.CreateChecked(-2), bx, Dbar);
            TensorPrimitives.Multiply<T>(fr.X(l - 1).Slice(B * wi, B * wi), Dbar, na);
        }
        AccumulateTraceWeights(shape, fr, cotTrace);
    }

    /// <summary>
    /// <see cref="BackwardTrace{T}"/> for two hidden layers with its element-wise work in two fused passes instead of
    /// eleven: from layer 3 to 2, D₂ = 1 − x₂², τY, the product with x₂, the −2 and x̄₂ terms, ā₂ = D₂ ⊙ (…), E = τ ⊙ D₂ and
    /// ā₂'s column sums in one pass over the rows (x₂ and Y, kept or in the frame, are read once); from layer 2 to 1 the
    /// same for ā₁. Each element goes through the same IEEE operations in the same order as in the passes (no products
    /// contracted into FMAs; column sums still in row order), so the results are bit for bit those of the unfused path
    /// (tests compare). D₂ is not stored: E is its only other use.
    /// </summary>
    private static void BackwardTraceTwoHidden<T>(NetShape shape, in Frame<T> fr, ReadOnlySpan<T> cotF, ReadOnlySpan<T> tau, Span<T> gradZ,
        ReadOnlySpan<T> kept) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int B = fr.Batch, d = shape.Dimension, w1 = shape.Widths[1], w2 = shape.Widths[2];
        ReadOnlySpan<T> x2 = kept.IsEmpty ? fr.X(2).Slice(0, B * w2) : kept.Slice(0, B * w2);
        ReadOnlySpan<T> Y = kept.IsEmpty ? fr.A(2).Slice(B * w2, B * w2) : kept.Slice(B * w2, B * w2);
        ReadOnlySpan<T> x1 = fr.X(1).Slice(0, B * w1), D1 = fr.X(1).Slice(B * w1, B * w1);
        var g3 = cotF.Slice(0, B * d);
        // layer 3: f = W₃x₂ + c₃
        RowOps.AccumulateColumnSums<T>(B, d, g3, fr.GradC(3));
        Gemm.Multiply<T>(true, false, d, w2, B, T.One, g3, d, x2, w2, T.One, fr.GradW(3), w2);
        var bx2 = fr.BarX.Slice(0, B * w2);
        Gemm.Multiply<T>(false, false, B, w2, d, T.One, g3, d, fr.W(3), w2, T.Zero, bx2, w2);
        var a2 = fr.BarA.Slice(0, B * w2);
        var E = fr.M(2).Slice(B * w2, B * w2);
        OutputLayerCotangents(B, w2, x2, Y, tau, bx2, a2, E, fr.GradC(2));
        // layer 2: x₂ = tanh(W₂x₁ + c₂); the trace's D̄₁ = E·P
        Gemm.Multiply<T>(true, false, w2, w1, B, T.One, a2, w2, x1, w1, T.One, fr.GradW(2), w1);
        var bx1 = fr.BarX.Slice(0, B * w1);
        Gemm.Multiply<T>(false, false, B, w1, w2, T.One, a2, w2, fr.W(2), w1, T.Zero, bx1, w1);
        var dbar1 = fr.M(1).Slice(B * w1, B * w1);
        Gemm.Multiply<T>(false, false, B, w1, w2, T.One, E, w2, fr.Trace.Slice(w2 * w1, w2 * w1), w1, T.Zero, dbar1, w1);
        var a1 = fr.BarA.Slice(0, B * w1);   // ā₂ is spent
        HiddenLayerCotangents(B, w1, x1, D1, dbar1, bx1, a1, fr.GradC(1));
        // layer 1: x₁ = tanh(W₁z + c₁)
        Gemm.Multiply<T>(true, false, w1, d, B, T.One, a1, w1, fr.X(0).Slice(0, B * d), d, T.One, fr.GradW(1), d);
        Gemm.Multiply<T>(false, false, B, d, w1, T.One, a1, w1, fr.W(1), d, T.Zero, gradZ, d);
        AccumulateTraceWeights(shape, fr, tau);
    }

    /// <summary>
    /// Per element of [rows, w]: D = 1 − x², D̄ = x ⊙ (τ_r·Y), ā = D ⊙ (D̄·(−2) + x̄), e = D·τ_r; and gradC += ā's column sums
    /// (row by row, as <see cref="RowOps.AccumulateColumnSums{T}(int, int, ReadOnlySpan{T}, Span{T})"/> adds them).
    /// </summary>
    private static void OutputLayerCotangents<T>(int rows, int w, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> tau,
        ReadOnlySpan<T> barX, Span<T> a, Span<T> e, Span<T> gradC) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = rows * w, lanes = Vector512<T>.Count, full = w - w % lanes;
        if (x.Length < n || y.Length < n || barX.Length < n || a.Length < n || e.Length < n || tau.Length < rows || gradC.Length < w)
            throw new ArgumentException("OutputLayerCotangents: extents out of range.");
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y);
        ref T br = ref MemoryMarshal.GetReference(barX);
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T er = ref MemoryMarshal.GetReference(e);
        ref T cr = ref MemoryMarshal.GetReference(gradC);
        T m2 = T.CreateChecked(-2);
        var minus2 = Vector512.Create(m2);
        for (int r = 0; r < rows; r++)
        {
            T s = tau[r];
            var sv = Vector512.Create(s);
            nuint o = (nuint)(r * w);
            for (int j = 0; j < full; j += lanes)
            {
                nuint i = o + (nuint)j;
                var xv = Vector512.LoadUnsafe(ref xr, i);
                var db = xv * (Vector512.LoadUnsafe(ref yr, i) * sv);
                db = db * minus2 + Vector512.LoadUnsafe(ref br, i);
                var dv = Vector512<T>.One - xv * xv;
                var av = dv * db;
                av.StoreUnsafe(ref ar, i);
                (dv * sv).StoreUnsafe(ref er, i);
                (Vector512.LoadUnsafe(ref cr, (nuint)j) + av).StoreUnsafe(ref cr, (nuint)j);
            }
            for (int j = full; j < w; j++)
            {
                nuint i = o + (nuint)j;
                T xv = Unsafe.Add(ref xr, i);
                T db = xv * (Unsafe.Add(ref yr, i) * s);
                db = db * m2 + Unsafe.Add(ref br, i);
                T dv = T.One - xv * xv;
                T av = dv * db;
                Unsafe.Add(ref ar, i) = av;
                Unsafe.Add(ref er, i) = dv * s;
                Unsafe.Add(ref cr, j) += av;
            }
        }
    }

    /// <summary>Per element of [rows, w]: ā = D ⊙ ((x ⊙ D̄)·(−2) + x̄); gradC += ā's column sums in row order.</summary>
    private static void HiddenLayerCotangents<T>(int rows, int w, ReadOnlySpan<T> x, ReadOnlySpan<T> d, ReadOnlySpan<T> dbar,
        ReadOnlySpan<T> barX, Span<T> a, Span<T> gradC) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = rows * w, lanes = Vector512<T>.Count, full = w - w % lanes;
        if (x.Length < n || d.Length < n || dbar.Length < n || barX.Length < n || a.Length < n || gradC.Length < w)
            throw new ArgumentException("HiddenLayerCotangents: extents out of range.");
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T dr = ref MemoryMarshal.GetReference(d);
        ref T qr = ref MemoryMarshal.GetReference(dbar);
        ref T br = ref MemoryMarshal.GetReference(barX);
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T cr = ref MemoryMarshal.GetReference(gradC);
        T m2 = T.CreateChecked(-2);
        var minus2 = Vector512.Create(m2);
        for (int r = 0; r < rows; r++)
        {
            nuint o = (nuint)(r * w);
            for (int j = 0; j < full; j += lanes)
            {
                nuint i = o + (nuint)j;
                var db = Vector512.LoadUnsafe(ref xr, i) * Vector512.LoadUnsafe(ref qr, i);
                db = db * minus2 + Vector512.LoadUnsafe(ref br, i);
                var av = Vector512.LoadUnsafe(ref dr, i) * db;
                av.StoreUnsafe(ref ar, i);
                (Vector512.LoadUnsafe(ref cr, (nuint)j) + av).StoreUnsafe(ref cr, (nuint)j);
            }
            for (int j = full; j < w; j++)
            {
                nuint i = o + (nuint)j;
                T db = Unsafe.Add(ref xr, i) * Unsafe.Add(ref qr, i);
                db = db * m2 + Unsafe.Add(ref br, i);
                T av = Unsafe.Add(ref dr, i) * db;
                Unsafe.Add(ref ar, i) = av;
                Unsafe.Add(ref cr, j) += av;
            }
        }
    }

    /// <summary>
    /// ∂tr/∂D_l per row, scaled by the trace's cotangent τ: τ·c (one hidden layer), τ·Y for D₂ and (τ ⊙ D₂)·P for D₁; Y from
    /// <paramref name="keptY"/> when not empty, else from the frame.
    /// </summary>
    private static Span<T> TraceCotangentOnD<T>(NetShape shape, in Frame<T> fr, int l, ReadOnlySpan<T> tau, ReadOnlySpan<T> keptY)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int B = fr.Batch, w = shape.Widths[l];
        var dbar = fr.M(l).Slice(B * w, B * w);   // a free tangent-row slot
        if (shape.Layers == 2)
        {
            var c = fr.Trace.Slice(0, w);
            ScaleEachRow<T>(B, w, c, 0, tau, dbar);
            return dbar;
        }
        int w1 = shape.Widths[1], w2 = shape.Widths[2];
        if (l == 2)
        {
            ReadOnlySpan<T> Y = keptY.IsEmpty ? fr.A(2).Slice(B * w2, B * w2) : keptY;
            ScaleEachRow(B, w2, Y, w2, tau, dbar);
            return dbar;
        }
        // l == 1: E = τ ⊙ D₂ (kept for P̄), D̄₁ = E·P
        var E = fr.M(2).Slice(B * w2, B * w2);
        var D2 = fr.X(2).Slice(B * w2, B * w2);   // from ForwardTrace
        ScaleEachRow<T>(B, w2, D2, w2, tau, E);
        Gemm.Multiply<T>(false, false, B, w1, w2, T.One, E, w2, fr.Trace.Slice(w2 * w1, w2 * w1), w1, T.Zero, dbar, w1);
        return dbar;
    }

    /// <summary>The trace's dependence on the weights through c (one hidden layer) or P = W₂ ⊙ C, C = W₃ᵀW₁ᵀ (two).</summary>
    private static void AccumulateTraceWeights<T>(NetShape shape, in Frame<T> fr, ReadOnlySpan<T> tau)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int B = fr.Batch, d = shape.Dimension, w1 = shape.Widths[1];
        if (shape.Layers == 2)
        {
            // c̄ₙ = Σ_b τ_b D₁[b, n]; cₙ = Σⱼ W₂[j, n]W₁[n, j]
            Span<T> cbar = fr.Trace.Slice(w1, w1);
            cbar.Clear();
            var D1one = fr.X(1).Slice(B * w1, B * w1);   // from ForwardTrace
            for (int b = 0; b < B; b++) TensorPrimitives.MultiplyAdd<T>(D1one.Slice(b * w1, w1), tau[b], cbar, cbar);
            var W1 = fr.W(1); var W2 = fr.W(2); var gW1 = fr.GradW(1); var gW2 = fr.GradW(2);
            for (int n = 0; n < w1; n++)
                for (int j = 0; j < d; j++)
                {
                    gW2[j * w1 + n] += cbar[n] * W1[n * d + j];
                    gW1[n * d + j] += cbar[n] * W2[j * w1 + n];
                }
            return;
        }
        int w2 = shape.Widths[2];
        Span<T> C = fr.Trace.Slice(0, w2 * w1), Pbar = fr.Trace.Slice(2 * w2 * w1, w2 * w1);
        var E = fr.M(2).Slice(B * w2, B * w2);      // τ ⊙ D₂ from TraceCotangentOnD
        var D1 = fr.X(1).Slice(B * w1, B * w1);     // from ForwardTrace
        Gemm.Multiply<T>(true, false, w2, w1, B, T.One, E, w2, D1, w1, T.Zero, Pbar, w1);   // P̄ = Eᵀ D₁
        var G2w = fr.GradW(2);
        TensorPrimitives.FusedMultiplyAdd<T>(Pbar, C, G2w, G2w);                             // W̄₂ += P̄ ⊙ C
        TensorPrimitives.Multiply<T>(Pbar, fr.W(2), Pbar);                                  // C̄ = P̄ ⊙ W₂
        // C = W₃ᵀW₁ᵀ: W̄₃ += (C̄W₁)ᵀ, W̄₁ += C̄ᵀW₃ᵀ
        Gemm.Multiply<T>(false, false, d, w1, w2, T.One, fr.W(3), w2, Pbar, w1, T.Zero, fr.Trace.Slice(w2 * w1, d * w1), w1); // W₃C̄ [d, w1]
        var tmp = fr.Trace.Slice(w2 * w1, d * w1);
        var G1 = fr.GradW(1);
        for (int n = 0; n < w1; n++)
            for (int j = 0; j < d; j++) G1[n * d + j] += tmp[j * w1 + n];
        Gemm.Multiply<T>(false, false, w2, d, w1, T.One, Pbar, w1, fr.W(1), d, T.Zero, fr.Trace.Slice(w2 * w1, w2 * d), d);  // C̄W₁ [w2, d]
        tmp = fr.Trace.Slice(w2 * w1, w2 * d);
        var G3 = fr.GradW(3);
        for (int m = 0; m < w2; m++)
            for (int j = 0; j < d; j++) G3[j * w2 + m] += tmp[m * d + j];
    }

    /// <summary>
    /// x = tanh(a + c) per row, as <see cref="BiasActivations.Tanh{T}(int, int, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T})"/>
    /// computes it, and d = 1 − x ⊙ x as <see cref="OneMinusSquare{T}"/> does, in one pass when the rows are whole
    /// AVX-512 vectors and the tanh is FastTanh512's (the same lanes, so the same bits); otherwise those two passes.
    /// </summary>
    private static void BiasTanhAndDerivative<T>(int rows, int cols, ReadOnlySpan<T> a, ReadOnlySpan<T> c, Span<T> x, Span<T> d)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = rows * cols;
        bool fused = FusedTraceSweep && Activations.FastTanhBits == 512 && (typeof(T) == typeof(float) || typeof(T) == typeof(double))
                     && cols % Vector512<T>.Count == 0;
        if (!fused)
        {
            BiasActivations.Tanh<T>(rows, cols, a, c, x);
            OneMinusSquare(x.Slice(0, n), d);
            return;
        }
        if (a.Length < n || c.Length < cols || x.Length < n || d.Length < n)
            throw new ArgumentException("BiasTanhAndDerivative: extents out of range.");
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T cr = ref MemoryMarshal.GetReference(c);
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T dr = ref MemoryMarshal.GetReference(d);
        for (int r = 0; r < rows; r++)
        {
            nuint o = (nuint)(r * cols);
            for (int j = 0; j < cols; j += Vector512<T>.Count)
            {
                var pre = Vector512.LoadUnsafe(ref ar, o + (nuint)j) + Vector512.LoadUnsafe(ref cr, (nuint)j);
                var v = typeof(T) == typeof(float)
                    ? FastTanh512.Tanh(pre.AsSingle()).As<float, T>()
                    : FastTanh512.Tanh(pre.AsDouble()).As<double, T>();
                v.StoreUnsafe(ref xr, o + (nuint)j);
                (Vector512<T>.One - v * v).StoreUnsafe(ref dr, o + (nuint)j);
            }
        }
    }

    /// <summary>
    /// d = 1 − x ⊙ x (vectorised) in one pass: the square rounded, then the difference, as two TensorPrimitives passes
    /// would give (.NET does not contract the two into an FMA); returns d.
    /// </summary>
    private static Span<T> OneMinusSquare<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Length, i = 0;
        d = d.Slice(0, n);
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T dr = ref MemoryMarshal.GetReference(d);
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var v = Vector512.LoadUnsafe(ref xr, (nuint)i);
                (Vector512<T>.One - v * v).StoreUnsafe(ref dr, (nuint)i);
            }
        for (; i < n; i++) d[i] = T.One - x[i] * x[i];
        return d;
    }

    /// <summary>
    /// y[r, :] = x[r, :]·s[r] for r &lt; rows (x one row for every r when <paramref name="xStride"/> is 0): one loop over the
    /// block instead of a TensorPrimitives call per 64-wide row, whose fixed cost was about the row's work. Same products.
    /// </summary>
    private static void ScaleEachRow<T>(int rows, int cols, ReadOnlySpan<T> x, int xStride, ReadOnlySpan<T> s, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x.Length < (rows - 1) * xStride + cols || y.Length < rows * cols || s.Length < rows)
            throw new ArgumentException("ScaleEachRow: extents out of range.");
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y);
        bool wide = Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported;
        for (int r = 0; r < rows; r++)
        {
            T sr = s[r];
            nuint xo = (nuint)(r * xStride), yo = (nuint)(r * cols);
            int j = 0;
            if (wide)
            {
                var sv = Vector512.Create(sr);
                for (; j <= cols - Vector512<T>.Count; j += Vector512<T>.Count)
                    (Vector512.LoadUnsafe(ref xr, xo + (nuint)j) * sv).StoreUnsafe(ref yr, yo + (nuint)j);
            }
            for (; j < cols; j++) Unsafe.Add(ref yr, (nint)(yo + (nuint)j)) = Unsafe.Add(ref xr, (nint)(xo + (nuint)j)) * sr;
        }
    }

    /// <summary>y[r, j] = x[r, j]·s[j].</summary>
    private static void ScaleRows<T>(int rows, int cols, ReadOnlySpan<T> x, ReadOnlySpan<T> s, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
            TensorPrimitives.Multiply(x.Slice(r * cols, cols), s.Slice(0, cols), y.Slice(r * cols, cols));
    }

    /// <summary>sum[j] += Σ_r x[r, j]·y[r, j].</summary>
    private static void AccumulateProductColumnSums<T>(int rows, int cols, ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> sum)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
            TensorPrimitives.FusedMultiplyAdd(x.Slice(r * cols, cols), y.Slice(r * cols, cols), sum.Slice(0, cols), sum.Slice(0, cols));
    }
}
