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
