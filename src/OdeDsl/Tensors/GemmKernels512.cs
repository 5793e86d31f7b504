// Register-blocked GEMM microkernels on Vector512<T> (T = float or double), fully unrolled on purpose:
// every accumulator is a named local so the JIT keeps the whole tile in registers (see docs/performance.md).
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace OdeDsl.Tensors;

/// <summary>
/// 8×2-vector and 1×2-vector microkernels on Vector512: C[r, 0..2V) = α·Σ_p A(r, p)·B[p, 0..2V) + β·C, where
/// A(r, p) = a[r·ars + p·acs] (strides cover both A and Aᵀ without packing) and B is a panel with row stride ldb.
/// 16 accumulators + 2 B vectors + 1 broadcast fit the 32 zmm registers.
/// </summary>
internal static unsafe class GemmKernels512
{
    public const int Rows = 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Fma<T>(Vector512<T> x, Vector512<T> y, Vector512<T> acc) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Vector512.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), acc.AsSingle()).As<float, T>();
        return Vector512.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), acc.AsDouble()).As<double, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(T* c, Vector512<T> acc, Vector512<T> alpha, Vector512<T> beta, bool readC) where T : unmanaged
    {
        var r = acc * alpha;
        if (readC) r = Fma(Vector512.Load(c), beta, r);
        r.Store(c);
    }

    /// <summary>8 rows × 2 vectors. <paramref name="readC"/> is false when β = 0 (C is then never read).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Block<T>(int k, T* a, nint ars, nint acs, T* b, nint ldb, T* c, nint ldc, T alpha, T beta, bool readC)
        where T : unmanaged
    {
        int n = Vector512<T>.Count;
        Vector512<T> c00 = default, c01 = default;
        Vector512<T> c10 = default, c11 = default;
        Vector512<T> c20 = default, c21 = default;
        Vector512<T> c30 = default, c31 = default;
        Vector512<T> c40 = default, c41 = default;
        Vector512<T> c50 = default, c51 = default;
        Vector512<T> c60 = default, c61 = default;
        Vector512<T> c70 = default, c71 = default;
        T* a0 = a;
        T* a1 = a + 1 * ars;
        T* a2 = a + 2 * ars;
        T* a3 = a + 3 * ars;
        T* a4 = a + 4 * ars;
        T* a5 = a + 5 * ars;
        T* a6 = a + 6 * ars;
        T* a7 = a + 7 * ars;
        nint o = 0;
        for (int p = 0; p < k; p++, o += acs, b += ldb)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + n);
            var x0 = Vector512.Create(a0[o]); c00 = Fma(x0, b0, c00); c01 = Fma(x0, b1, c01);
            var x1 = Vector512.Create(a1[o]); c10 = Fma(x1, b0, c10); c11 = Fma(x1, b1, c11);
            var x2 = Vector512.Create(a2[o]); c20 = Fma(x2, b0, c20); c21 = Fma(x2, b1, c21);
            var x3 = Vector512.Create(a3[o]); c30 = Fma(x3, b0, c30); c31 = Fma(x3, b1, c31);
            var x4 = Vector512.Create(a4[o]); c40 = Fma(x4, b0, c40); c41 = Fma(x4, b1, c41);
            var x5 = Vector512.Create(a5[o]); c50 = Fma(x5, b0, c50); c51 = Fma(x5, b1, c51);
            var x6 = Vector512.Create(a6[o]); c60 = Fma(x6, b0, c60); c61 = Fma(x6, b1, c61);
            var x7 = Vector512.Create(a7[o]); c70 = Fma(x7, b0, c70); c71 = Fma(x7, b1, c71);
        }
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        Store(c + 0 * ldc, c00, va, vb, readC); Store(c + 0 * ldc + n, c01, va, vb, readC);
        Store(c + 1 * ldc, c10, va, vb, readC); Store(c + 1 * ldc + n, c11, va, vb, readC);
        Store(c + 2 * ldc, c20, va, vb, readC); Store(c + 2 * ldc + n, c21, va, vb, readC);
        Store(c + 3 * ldc, c30, va, vb, readC); Store(c + 3 * ldc + n, c31, va, vb, readC);
        Store(c + 4 * ldc, c40, va, vb, readC); Store(c + 4 * ldc + n, c41, va, vb, readC);
        Store(c + 5 * ldc, c50, va, vb, readC); Store(c + 5 * ldc + n, c51, va, vb, readC);
        Store(c + 6 * ldc, c60, va, vb, readC); Store(c + 6 * ldc + n, c61, va, vb, readC);
        Store(c + 7 * ldc, c70, va, vb, readC); Store(c + 7 * ldc + n, c71, va, vb, readC);
    }

    /// <summary>One row × 2 vectors, k unrolled by two into separate accumulators to hide FMA latency (GEMV).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Row<T>(int k, T* a, nint acs, T* b, nint ldb, T* c, T alpha, T beta, bool readC)
        where T : unmanaged
    {
        int n = Vector512<T>.Count;
        Vector512<T> s0 = default, s1 = default, t0 = default, t1 = default;
        int p = 0;
        for (; p + 1 < k; p += 2, a += 2 * acs, b += 2 * ldb)
        {
            var x = Vector512.Create(a[0]);
            s0 = Fma(x, Vector512.Load(b), s0); s1 = Fma(x, Vector512.Load(b + n), s1);
            var y = Vector512.Create(a[acs]);
            t0 = Fma(y, Vector512.Load(b + ldb), t0); t1 = Fma(y, Vector512.Load(b + ldb + n), t1);
        }
        if (p < k)
        {
            var x = Vector512.Create(a[0]);
            s0 = Fma(x, Vector512.Load(b), s0); s1 = Fma(x, Vector512.Load(b + n), s1);
        }
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        Store(c, s0 + t0, va, vb, readC); Store(c + n, s1 + t1, va, vb, readC);
    }

    /// <summary>
    /// c[j] = α·⟨a, b_j⟩ + β·c[j] for the four contiguous rows b_j = b + j·ldb (used when B is transposed and
    /// m is small, so that packing Bᵀ would cost as much as the product).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot4<T>(int k, T* a, T* b, nint ldb, T* c, T alpha, T beta, bool readC)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = Vector512<T>.Count;
        Vector512<T> s0 = default, s1 = default, s2 = default, s3 = default;
        T* b1 = b + ldb, b2 = b + 2 * ldb, b3 = b + 3 * ldb;
        int p = 0;
        for (; p + n <= k; p += n)
        {
            var x = Vector512.Load(a + p);
            s0 = Fma(x, Vector512.Load(b + p), s0); s1 = Fma(x, Vector512.Load(b1 + p), s1);
            s2 = Fma(x, Vector512.Load(b2 + p), s2); s3 = Fma(x, Vector512.Load(b3 + p), s3);
        }
        T d0 = Vector512.Sum(s0), d1 = Vector512.Sum(s1), d2 = Vector512.Sum(s2), d3 = Vector512.Sum(s3);
        for (; p < k; p++)
        {
            T x = a[p];
            d0 += x * b[p]; d1 += x * b1[p]; d2 += x * b2[p]; d3 += x * b3[p];
        }
        c[0] = GemmTile.Combine(d0, c[0], alpha, beta, readC); c[1] = GemmTile.Combine(d1, c[1], alpha, beta, readC);
        c[2] = GemmTile.Combine(d2, c[2], alpha, beta, readC); c[3] = GemmTile.Combine(d3, c[3], alpha, beta, readC);
    }

    /// <summary>
    /// The 4×2 corner C[i..i+4, j..j+2] as dot products of four contiguous A rows (stride lda) with two
    /// contiguous Bᵀ rows (stride ldb): for narrow outputs (n = 2 in the spiral field) over a large batch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot4x2<T>(int k, T* a, nint lda, T* b, nint ldb, T* c, nint ldc, T alpha, T beta, bool readC)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = Vector512<T>.Count;
        Vector512<T> s00 = default, s01 = default, s10 = default, s11 = default, s20 = default, s21 = default, s30 = default, s31 = default;
        T* a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda, b1 = b + ldb;
        int p = 0;
        for (; p + n <= k; p += n)
        {
            var y0 = Vector512.Load(b + p); var y1 = Vector512.Load(b1 + p);
            var x = Vector512.Load(a + p); s00 = Fma(x, y0, s00); s01 = Fma(x, y1, s01);
            x = Vector512.Load(a1 + p); s10 = Fma(x, y0, s10); s11 = Fma(x, y1, s11);
            x = Vector512.Load(a2 + p); s20 = Fma(x, y0, s20); s21 = Fma(x, y1, s21);
            x = Vector512.Load(a3 + p); s30 = Fma(x, y0, s30); s31 = Fma(x, y1, s31);
        }
        T d00 = Vector512.Sum(s00), d01 = Vector512.Sum(s01), d10 = Vector512.Sum(s10), d11 = Vector512.Sum(s11);
        T d20 = Vector512.Sum(s20), d21 = Vector512.Sum(s21), d30 = Vector512.Sum(s30), d31 = Vector512.Sum(s31);
        for (; p < k; p++)
        {
            T y0 = b[p], y1 = b1[p];
            d00 += a[p] * y0; d01 += a[p] * y1; d10 += a1[p] * y0; d11 += a1[p] * y1;
            d20 += a2[p] * y0; d21 += a2[p] * y1; d30 += a3[p] * y0; d31 += a3[p] * y1;
        }
        T* c1 = c + ldc, c2 = c + 2 * ldc, c3 = c + 3 * ldc;
        c[0] = GemmTile.Combine(d00, c[0], alpha, beta, readC); c[1] = GemmTile.Combine(d01, c[1], alpha, beta, readC);
        c1[0] = GemmTile.Combine(d10, c1[0], alpha, beta, readC); c1[1] = GemmTile.Combine(d11, c1[1], alpha, beta, readC);
        c2[0] = GemmTile.Combine(d20, c2[0], alpha, beta, readC); c2[1] = GemmTile.Combine(d21, c2[1], alpha, beta, readC);
        c3[0] = GemmTile.Combine(d30, c3[0], alpha, beta, readC); c3[1] = GemmTile.Combine(d31, c3[1], alpha, beta, readC);
    }

    /// <summary>c[0] = α·⟨a, b⟩ + β·c[0] for one contiguous row b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot1<T>(int k, T* a, T* b, T* c, T alpha, T beta, bool readC)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = Vector512<T>.Count;
        Vector512<T> s0 = default, s1 = default;
        int p = 0;
        for (; p + 2 * n <= k; p += 2 * n)
        {
            s0 = Fma(Vector512.Load(a + p), Vector512.Load(b + p), s0);
            s1 = Fma(Vector512.Load(a + p + n), Vector512.Load(b + p + n), s1);
        }
        if (p + n <= k) { s0 = Fma(Vector512.Load(a + p), Vector512.Load(b + p), s0); p += n; }
        T d = Vector512.Sum(s0 + s1);
        for (; p < k; p++) d += a[p] * b[p];
        c[0] = GemmTile.Combine(d, c[0], alpha, beta, readC);
    }
}
