using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OdeDsl.Tensors;

/// <summary>
/// C[m, 2] = α·A[m, k]·Bᵀ + β·C with contiguous A rows and B's two rows contiguous (op(B) = Bᵀ, the spiral field's
/// 50 → 2 layer), on AVX2 + FMA: the Vector256 sibling of <see cref="GemmNarrow512"/>. One tile is 4 rows: each A row
/// is loaded once per k-step for both outputs, and the tile's 8 lane-wise accumulators are folded by a
/// shuffle-and-add tree into one vector (float: 4 rows × 2 outputs) or two (double: 2 rows × 2 outputs each) whose
/// lanes are C's row-major tile (row r, output j at lane 2r + j), instead of one horizontal sum per output.
/// </summary>
/// <remarks>
/// Summation order (fixed, independent of m and of the row's place in a tile): lane l of an accumulator sums
/// A[i, p]·B[j, p] for p = l, l + W, … (p + W ≤ k, one fused multiply-add each, W = 8 float / 4 double lanes); when
/// W does not divide k the last W columns are loaded again (overlapping) with the already-counted lanes masked to
/// zero, so lane l also adds p = k − W + l for l ≥ W − k mod W. The W lane sums are then added by a fixed pairwise
/// tree (the fold below: float ((l0 + l2) + (l1 + l3)) + ((l4 + l6) + (l5 + l7)), double (l0 + l1) + (l2 + l3)),
/// and C = α·sum + β·C (not fused). This order differs from GemmNarrow512's (twice the lanes) and from the Dot
/// kernels' (other paths), so results agree with them only to rounding. Rows past the end of a partial last tile
/// re-read the last row and are never stored. Loads, stores, arithmetic, FMA and masks use the portable Vector256
/// API; only the fold's unpacks and 128-bit block permutes are AVX intrinsics.
/// </remarks>
internal static unsafe class GemmNarrow256
{
    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported && Vector256.IsHardwareAccelerated;

    /// <summary>Whether this kernel takes an n = 2 product with inner dimension k (at least one vector).</summary>
    public static bool Applies<T>(int n, int k) where T : unmanaged => IsSupported && n == 2 && k >= Vector256<T>.Count;

    public static void Run(int m, int k, float alpha, float* a, nint lda, float* b, nint ldb, float beta, float* c, nint ldc, bool readC)
    {
        const int W = 8, R = 4;
        float* b0 = b, b1 = b + ldb;
        int rem = k % W;
        nint off = k - W;
        var mask = Vector256.GreaterThanOrEqual(Vector256<int>.Indices, Vector256.Create(W - rem)).AsSingle();
        var t0 = Vector256.Load(b0 + off) & mask;
        var t1 = Vector256.Load(b1 + off) & mask;
        var va = Vector256.Create(alpha);
        var vb = Vector256.Create(beta);
        float* tile = stackalloc float[2 * R];
        for (int i0 = 0; i0 < m; i0 += R)
        {
            int rows = Math.Min(R, m - i0);
            float* a0 = a + i0 * lda;
            nint last = (rows - 1) * lda;
            float* a1 = a0 + Math.Min(1 * lda, last), a2 = a0 + Math.Min(2 * lda, last), a3 = a0 + Math.Min(3 * lda, last);
            Vector256<float> s00 = default, s01 = default, s10 = default, s11 = default;
            Vector256<float> s20 = default, s21 = default, s30 = default, s31 = default;
            nint p = 0;
            for (; p + W <= k; p += W)
            {
                var y0 = Vector256.Load(b0 + p); var y1 = Vector256.Load(b1 + p);
                var x = Vector256.Load(a0 + p); s00 = Vector256.FusedMultiplyAdd(x, y0, s00); s01 = Vector256.FusedMultiplyAdd(x, y1, s01);
                x = Vector256.Load(a1 + p); s10 = Vector256.FusedMultiplyAdd(x, y0, s10); s11 = Vector256.FusedMultiplyAdd(x, y1, s11);
                x = Vector256.Load(a2 + p); s20 = Vector256.FusedMultiplyAdd(x, y0, s20); s21 = Vector256.FusedMultiplyAdd(x, y1, s21);
                x = Vector256.Load(a3 + p); s30 = Vector256.FusedMultiplyAdd(x, y0, s30); s31 = Vector256.FusedMultiplyAdd(x, y1, s31);
            }
            if (rem != 0)
            {
                var x = Vector256.Load(a0 + off) & mask; s00 = Vector256.FusedMultiplyAdd(x, t0, s00); s01 = Vector256.FusedMultiplyAdd(x, t1, s01);
                x = Vector256.Load(a1 + off) & mask; s10 = Vector256.FusedMultiplyAdd(x, t0, s10); s11 = Vector256.FusedMultiplyAdd(x, t1, s11);
                x = Vector256.Load(a2 + off) & mask; s20 = Vector256.FusedMultiplyAdd(x, t0, s20); s21 = Vector256.FusedMultiplyAdd(x, t1, s21);
                x = Vector256.Load(a3 + off) & mask; s30 = Vector256.FusedMultiplyAdd(x, t0, s30); s31 = Vector256.FusedMultiplyAdd(x, t1, s31);
            }
            // Fold: per 128-bit block, pairs of one row's two outputs (lanes l, l + 2), then two rows (64-bit halves),
            // then the two blocks (rows 0, 1 from the first Quad, rows 2, 3 from the second).
            var sum = Blocks(Quad(Pair(s00, s01), Pair(s10, s11)), Quad(Pair(s20, s21), Pair(s30, s31)));
            float* ct = c + i0 * ldc;
            if (rows == R && ldc == 2)
            {
                var r = sum * va;
                if (readC) r += vb * Vector256.Load(ct);
                r.Store(ct);
                continue;
            }
            sum.Store(tile);
            for (int r = 0; r < rows; r++)
            {
                ct[r * ldc] = GemmTile.Combine(tile[2 * r], ct[r * ldc], alpha, beta, readC);
                ct[r * ldc + 1] = GemmTile.Combine(tile[2 * r + 1], ct[r * ldc + 1], alpha, beta, readC);
            }
        }
    }

    public static void Run(int m, int k, double alpha, double* a, nint lda, double* b, nint ldb, double beta, double* c, nint ldc, bool readC)
    {
        const int W = 4, R = 4;
        double* b0 = b, b1 = b + ldb;
        int rem = k % W;
        nint off = k - W;
        var mask = Vector256.GreaterThanOrEqual(Vector256<long>.Indices, Vector256.Create((long)(W - rem))).AsDouble();
        var t0 = Vector256.Load(b0 + off) & mask;
        var t1 = Vector256.Load(b1 + off) & mask;
        var va = Vector256.Create(alpha);
        var vb = Vector256.Create(beta);
        double* tile = stackalloc double[2 * R];
        for (int i0 = 0; i0 < m; i0 += R)
        {
            int rows = Math.Min(R, m - i0);
            double* a0 = a + i0 * lda;
            nint last = (rows - 1) * lda;
            double* a1 = a0 + Math.Min(1 * lda, last), a2 = a0 + Math.Min(2 * lda, last), a3 = a0 + Math.Min(3 * lda, last);
            Vector256<double> s00 = default, s01 = default, s10 = default, s11 = default;
            Vector256<double> s20 = default, s21 = default, s30 = default, s31 = default;
            nint p = 0;
            for (; p + W <= k; p += W)
            {
                var y0 = Vector256.Load(b0 + p); var y1 = Vector256.Load(b1 + p);
                var x = Vector256.Load(a0 + p); s00 = Vector256.FusedMultiplyAdd(x, y0, s00); s01 = Vector256.FusedMultiplyAdd(x, y1, s01);
                x = Vector256.Load(a1 + p); s10 = Vector256.FusedMultiplyAdd(x, y0, s10); s11 = Vector256.FusedMultiplyAdd(x, y1, s11);
                x = Vector256.Load(a2 + p); s20 = Vector256.FusedMultiplyAdd(x, y0, s20); s21 = Vector256.FusedMultiplyAdd(x, y1, s21);
                x = Vector256.Load(a3 + p); s30 = Vector256.FusedMultiplyAdd(x, y0, s30); s31 = Vector256.FusedMultiplyAdd(x, y1, s31);
            }
            if (rem != 0)
            {
                var x = Vector256.Load(a0 + off) & mask; s00 = Vector256.FusedMultiplyAdd(x, t0, s00); s01 = Vector256.FusedMultiplyAdd(x, t1, s01);
                x = Vector256.Load(a1 + off) & mask; s10 = Vector256.FusedMultiplyAdd(x, t0, s10); s11 = Vector256.FusedMultiplyAdd(x, t1, s11);
                x = Vector256.Load(a2 + off) & mask; s20 = Vector256.FusedMultiplyAdd(x, t0, s20); s21 = Vector256.FusedMultiplyAdd(x, t1, s21);
                x = Vector256.Load(a3 + off) & mask; s30 = Vector256.FusedMultiplyAdd(x, t0, s30); s31 = Vector256.FusedMultiplyAdd(x, t1, s31);
            }
            // Fold: per 128-bit block, one row's two outputs (lanes l, l + 1), then the two blocks: rows 0, 1 and 2, 3.
            var lo = Blocks(Pair(s00, s01), Pair(s10, s11));
            var hi = Blocks(Pair(s20, s21), Pair(s30, s31));
            double* ct = c + i0 * ldc;
            if (rows == R && ldc == 2)
            {
                var r0 = lo * va;
                var r1 = hi * va;
                if (readC) { r0 += vb * Vector256.Load(ct); r1 += vb * Vector256.Load(ct + 4); }
                r0.Store(ct);
                r1.Store(ct + 4);
                continue;
            }
            lo.Store(tile);
            hi.Store(tile + 4);
            for (int r = 0; r < rows; r++)
            {
                ct[r * ldc] = GemmTile.Combine(tile[2 * r], ct[r * ldc], alpha, beta, readC);
                ct[r * ldc + 1] = GemmTile.Combine(tile[2 * r + 1], ct[r * ldc + 1], alpha, beta, readC);
            }
        }
    }

    // float: per 128-bit block [x0+x2, y0+y2, x1+x3, y1+y3]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Pair(Vector256<float> x, Vector256<float> y) => Avx.UnpackLow(x, y) + Avx.UnpackHigh(x, y);

    // float: two Pair results → per block [x, y, u, v] partial sums (64-bit halves of each block added)
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Quad(Vector256<float> xy, Vector256<float> uv) =>
        Avx.UnpackLow(xy.AsDouble(), uv.AsDouble()).AsSingle() + Avx.UnpackHigh(xy.AsDouble(), uv.AsDouble()).AsSingle();

    // double: per 128-bit block [x0+x1, y0+y1]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Pair(Vector256<double> x, Vector256<double> y) => Avx.UnpackLow(x, y) + Avx.UnpackHigh(x, y);

    // [L0 + L1, R0 + R1] in 128-bit blocks
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Blocks(Vector256<float> l, Vector256<float> r) =>
        Avx.Permute2x128(l, r, 0x20) + Avx.Permute2x128(l, r, 0x31);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Blocks(Vector256<double> l, Vector256<double> r) =>
        Avx.Permute2x128(l, r, 0x20) + Avx.Permute2x128(l, r, 0x31);
}
