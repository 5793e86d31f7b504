namespace OdeDsl.Tensors;

/// <summary>Chooses the fastest kernel for float/double GEMM on this machine.</summary>
internal static class GemmDriver
{
    public static void Run(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        => GemmScalar.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    public static void Run(bool transA, bool transB, int m, int n, int k, double alpha,
        ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb, double beta, Span<double> c, int ldc)
        => GemmScalar.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
