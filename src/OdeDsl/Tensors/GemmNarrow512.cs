using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OdeDsl.Tensors;

/// <summary>
/// C[m, 2] = α·A[m, k]·Bᵀ + β·C with contiguous A rows and B's two rows contiguous (op(B) = Bᵀ, the spiral field's
/// 50 → 2 layer), on AVX-512. One tile is 8 rows (float) or 4 rows (double): each A row is loaded once per k-step for
/// both outputs, and the tile's 16 (or 8) lane-wise accumulators are folded by a shuffle-and-add tree into ONE vector
/// whose lanes are C's row-major tile (row r, output j at lane 2r + j), instead of one horizontal sum per output.
/// </summary>
/// <remarks>
/// Summation order (fixed, independent of m and of the row's place in a tile): lane l of an accumulator sums
/// A[i, p]·B[j, p] for p = l, l + W, … (p + W ≤ k, one fused multiply-add each, W = 16 float / 8 double lanes); when
/// W does not divide k the last W columns are loaded again (overlapping) with the already-counted lanes masked to
/// zero, so lane l also adds p = k − W + l for l ≥ W − k mod W. The W lane sums are then added by a fixed pairwise
/// tree (the fold below), and C = α·sum + β·C (not fused). This order differs from the Dot kernels' (other paths).
/// Rows past the end of a partial last tile re-read the last row and are never stored.
/// </remarks>
internal static unsafe class GemmNarrow512
{
    public static bool IsSupported => Avx512F.IsSupported && Vector512.IsHardwareAccelerated;

    /// <summary>Whether this kernel takes an n = 2 product with inner dimension k (at least one vector).</summary>
    public static bool Applies<T>(int n, int k) where T : unmanaged => IsSupported && n == 2 && k >= Vector512<T>.Count;

    public static void Run(int m, int k, float alpha, float* a, nint lda, float* b, nint ldb, float beta, float* c, nint ldc, bool readC)
    {
        const int W = 16, R = 8;
        float* b0 = b, b1 = b + ldb;
        int rem = k % W;
        nint off = k - W;
        var mask = MaskFrom<float>(W - rem);
        var t0 = Vector512.Load(b0 + off) & mask;
        var t1 = Vector512.Load(b1 + off) & mask;
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        float* tile = stackalloc float[2 * R];
        for (int i0 = 0; i0 < m; i0 += R)
        {
            int rows = Math.Min(R, m - i0);
            float* a0 = a + i0 * lda;
            nint last = (rows - 1) * lda;
            float* a1 = a0 + Math.Min(1 * lda, last), a2 = a0 + Math.Min(2 * lda, last), a3 = a0 + Math.Min(3 * lda, last);
            float* a4 = a0 + Math.Min(4 * lda, last), a5 = a0 + Math.Min(5 * lda, last), a6 = a0 + Math.Min(6 * lda, last);
            float* a7 = a0 + Math.Min(7 * lda, last);
            Vector512<float> s00 = default, s01 = default, s10 = default, s11 = default, s20 = default, s21 = default;
            Vector512<float> s30 = default, s31 = default, s40 = default, s41 = default, s50 = default, s51 = default;
            Vector512<float> s60 = default, s61 = default, s70 = default, s71 = default;
            nint p = 0;
            for (; p + W <= k; p += W)
            {
                var y0 = Vector512.Load(b0 + p); var y1 = Vector512.Load(b1 + p);
                var x = Vector512.Load(a0 + p); s00 = Avx512F.FusedMultiplyAdd(x, y0, s00); s01 = Avx512F.FusedMultiplyAdd(x, y1, s01);
                x = Vector512.Load(a1 + p); s10 = Avx512F.FusedMultiplyAdd(x, y0, s10); s11 = Avx512F.FusedMultiplyAdd(x, y1, s11);
                x = Vector512.Load(a2 + p); s20 = Avx512F.FusedMultiplyAdd(x, y0, s20); s21 = Avx512F.FusedMultiplyAdd(x, y1, s21);
                x = Vector512.Load(a3 + p); s30 = Avx512F.FusedMultiplyAdd(x, y0, s30); s31 = Avx512F.FusedMultiplyAdd(x, y1, s31);
                x = Vector512.Load(a4 + p); s40 = Avx512F.FusedMultiplyAdd(x, y0, s40); s41 = Avx512F.FusedMultiplyAdd(x, y1, s41);
                x = Vector512.Load(a5 + p); s50 = Avx512F.FusedMultiplyAdd(x, y0, s50); s51 = Avx512F.FusedMultiplyAdd(x, y1, s51);
                x = Vector512.Load(a6 + p); s60 = Avx512F.FusedMultiplyAdd(x, y0, s60); s61 = Avx512F.FusedMultiplyAdd(x, y1, s61);
                x = Vector512.Load(a7 + p); s70 = Avx512F.FusedMultiplyAdd(x, y0, s70); s71 = Avx512F.FusedMultiplyAdd(x, y1, s71);
            }
            if (rem != 0)
            {
                var x = Vector512.Load(a0 + off) & mask; s00 = Avx512F.FusedMultiplyAdd(x, t0, s00); s01 = Avx512F.FusedMultiplyAdd(x, t1, s01);
                x = Vector512.Load(a1 + off) & mask; s10 = Avx512F.FusedMultiplyAdd(x, t0, s10); s11 = Avx512F.FusedMultiplyAdd(x, t1, s11);
                x = Vector512.Load(a2 + off) & mask; s20 = Avx512F.FusedMultiplyAdd(x, t0, s20); s21 = Avx512F.FusedMultiplyAdd(x, t1, s21);
                x = Vector512.Load(a3 + off) & mask; s30 = Avx512F.FusedMultiplyAdd(x, t0, s30); s31 = Avx512F.FusedMultiplyAdd(x, t1, s31);
                x = Vector512.Load(a4 + off) & mask; s40 = Avx512F.FusedMultiplyAdd(x, t0, s40); s41 = Avx512F.FusedMultiplyAdd(x, t1, s41);
                x = Vector512.Load(a5 + off) & mask; s50 = Avx512F.FusedMultiplyAdd(x, t0, s50); s51 = Avx512F.FusedMultiplyAdd(x, t1, s51);
                x = Vector512.Load(a6 + off) & mask; s60 = Avx512F.FusedMultiplyAdd(x, t0, s60); s61 = Avx512F.FusedMultiplyAdd(x, t1, s61);
                x = Vector512.Load(a7 + off) & mask; s70 = Avx512F.FusedMultiplyAdd(x, t0, s70); s71 = Avx512F.FusedMultiplyAdd(x, t1, s71);
            }
            // Fold: per 128-bit block, pairs of one row's two outputs (lanes l, l + 2), then two rows (64-bit halves),
            // then the four blocks of four accumulators each (128-bit block shuffles, twice).
            var w0 = Quad(Pair(s00, s01), Pair(s10, s11));
            var w1 = Quad(Pair(s20, s21), Pair(s30, s31));
            var w2 = Quad(Pair(s40, s41), Pair(s50, s51));
            var w3 = Quad(Pair(s60, s61), Pair(s70, s71));
            var sum = Blocks(Blocks(w0, w1), Blocks(w2, w3));
            float* ct = c + i0 * ldc;
            if (rows == R && ldc == 2)
            {
                var r = sum * va;
                if (readC) r += vb * Vector512.Load(ct);
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
        const int W = 8, R = 4;
        double* b0 = b, b1 = b + ldb;
        int rem = k % W;
        nint off = k - W;
        var mask = MaskFrom<double>(W - rem);
        var t0 = Vector512.Load(b0 + off) & mask;
        var t1 = Vector512.Load(b1 + off) & mask;
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        double* tile = stackalloc double[2 * R];
        for (int i0 = 0; i0 < m; i0 += R)
        {
            int rows = Math.Min(R, m - i0);
            double* a0 = a + i0 * lda;
            nint last = (rows - 1) * lda;
            double* a1 = a0 + Math.Min(1 * lda, last), a2 = a0 + Math.Min(2 * lda, last), a3 = a0 + Math.Min(3 * lda, last);
            Vector512<double> s00 = default, s01 = default, s10 = default, s11 = default;
            Vector512<double> s20 = default, s21 = default, s30 = default, s31 = default;
            nint p = 0;
            for (; p + W <= k; p += W)
            {
                var y0 = Vector512.Load(b0 + p); var y1 = Vector512.Load(b1 + p);
                var x = Vector512.Load(a0 + p); s00 = Avx512F.FusedMultiplyAdd(x, y0, s00); s01 = Avx512F.FusedMultiplyAdd(x, y1, s01);
                x = Vector512.Load(a1 + p); s10 = Avx512F.FusedMultiplyAdd(x, y0, s10); s11 = Avx512F.FusedMultiplyAdd(x, y1, s11);
                x = Vector512.Load(a2 + p); s20 = Avx512F.FusedMultiplyAdd(x, y0, s20); s21 = Avx512F.FusedMultiplyAdd(x, y1, s21);
                x = Vector512.Load(a3 + p); s30 = Avx512F.FusedMultiplyAdd(x, y0, s30); s31 = Avx512F.FusedMultiplyAdd(x, y1, s31);
            }
            if (rem != 0)
            {
                var x = Vector512.Load(a0 + off) & mask; s00 = Avx512F.FusedMultiplyAdd(x, t0, s00); s01 = Avx512F.FusedMultiplyAdd(x, t1, s01);
                x = Vector512.Load(a1 + off) & mask; s10 = Avx512F.FusedMultiplyAdd(x, t0, s10); s11 = Avx512F.FusedMultiplyAdd(x, t1, s11);
                x = Vector512.Load(a2 + off) & mask; s20 = Avx512F.FusedMultiplyAdd(x, t0, s20); s21 = Avx512F.FusedMultiplyAdd(x, t1, s21);
                x = Vector512.Load(a3 + off) & mask; s30 = Avx512F.FusedMultiplyAdd(x, t0, s30); s31 = Avx512F.FusedMultiplyAdd(x, t1, s31);
            }
            // Fold: per 128-bit block, one row's two outputs (lanes l, l + 1), then the four blocks (shuffles, twice).
            var sum = Blocks(Blocks(Pair(s00, s01), Pair(s10, s11)), Blocks(Pair(s20, s21), Pair(s30, s31)));
            double* ct = c + i0 * ldc;
            if (rows == R && ldc == 2)
            {
                var r = sum * va;
                if (readC) r += vb * Vector512.Load(ct);
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

    /// <summary>All-ones in lanes ≥ <paramref name="first"/>, zero below (first = W: no lanes; 0: all).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> MaskFrom<T>(int first) where T : unmanaged
    {
        var lanes = Vector512<int>.Indices;
        if (typeof(T) == typeof(float))
            return Vector512.GreaterThanOrEqual(lanes, Vector512.Create(first)).As<int, T>();
        return Vector512.GreaterThanOrEqual(Vector512<long>.Indices, Vector512.Create((long)first)).As<long, T>();
    }

    // float: per 128-bit block [x0+x2, y0+y2, x1+x3, y1+y3]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pair(Vector512<float> x, Vector512<float> y) => Avx512F.UnpackLow(x, y) + Avx512F.UnpackHigh(x, y);

    // float: two Pair results → per block [x, y, u, v] partial sums (64-bit halves of each block added)
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Quad(Vector512<float> xy, Vector512<float> uv) =>
        Avx512F.UnpackLow(xy.AsDouble(), uv.AsDouble()).AsSingle() + Avx512F.UnpackHigh(xy.AsDouble(), uv.AsDouble()).AsSingle();

    // double: per 128-bit block [x0+x1, y0+y1]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Pair(Vector512<double> x, Vector512<double> y) => Avx512F.UnpackLow(x, y) + Avx512F.UnpackHigh(x, y);

    // [L0 + L1, L2 + L3, R0 + R1, R2 + R3] in 128-bit blocks
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Blocks(Vector512<float> l, Vector512<float> r) =>
        Avx512F.Shuffle4x128(l, r, 0x88) + Avx512F.Shuffle4x128(l, r, 0xDD);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Blocks(Vector512<double> l, Vector512<double> r) =>
        Avx512F.Shuffle4x128(l, r, 0x88) + Avx512F.Shuffle4x128(l, r, 0xDD);
}
