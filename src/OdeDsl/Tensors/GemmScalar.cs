using System.Numerics;

namespace OdeDsl.Tensors;

/// <summary>Portable scalar GEMM (i-p-j order so the inner loop walks rows contiguously). Used for
/// types without a SIMD kernel and on hardware without vector acceleration.</summary>
internal static class GemmScalar
{
    public static void Run<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Gemm.ScaleC(m, n, beta, c, ldc);
        for (int i = 0; i < m; i++)
        {
            var cRow = c.Slice(i * ldc, n);
            for (int p = 0; p < k; p++)
            {
                T aip = alpha * (transA ? a[p * lda + i] : a[i * lda + p]);
                if (transB)
                {
                    for (int j = 0; j < n; j++) cRow[j] += aip * b[j * ldb + p];
                }
                else
                {
                    var bRow = b.Slice(p * ldb, n);
                    for (int j = 0; j < n; j++) cRow[j] += aip * bRow[j];
                }
            }
        }
    }
}

/// <summary>
/// Dot-product GEMM through strides for products too small for SIMD set-up to pay off (the 2→50→2 spiral field at
/// batch 1 is 100 multiply-adds per layer): no packing, no scratch, every transpose handled by the strides.
/// </summary>
internal static unsafe class GemmTiny
{
    /// <summary>Products up to this many multiply-adds (m·n·k) take this path on SIMD hardware.</summary>
    public const int MaxProduct = 512;

    public static void Run<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        nint ars = transA ? 1 : lda, acs = transA ? lda : 1;
        nint brs = transB ? 1 : ldb, bcs = transB ? ldb : 1; // B(p, j) = b[p·brs + j·bcs]
        bool readC = !T.IsZero(beta);
        fixed (T* pa = a, pb = b, pc = c)
        {
            for (int i = 0; i < m; i++)
            {
                T* ai = pa + i * ars, ci = pc + i * (nint)ldc;
                for (int j = 0; j < n; j++)
                {
                    T* bj = pb + j * bcs;
                    T s0 = T.Zero, s1 = T.Zero;
                    int p = 0;
                    for (; p + 1 < k; p += 2)
                    {
                        s0 += ai[p * acs] * bj[p * brs];
                        s1 += ai[(p + 1) * acs] * bj[(p + 1) * brs];
                    }
                    if (p < k) s0 += ai[p * acs] * bj[p * brs];
                    ci[j] = GemmTile.Combine(s0 + s1, ci[j], alpha, beta, readC);
                }
            }
        }
    }
}
