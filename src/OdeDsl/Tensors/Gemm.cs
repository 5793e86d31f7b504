using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OdeDsl.Tensors;

/// <summary>
/// General matrix multiply on row-major spans: C = α·op(A)·op(B) + β·C, where op(X) is X or Xᵀ.
/// op(A) is m×k, op(B) is k×n and C is m×n. Leading dimensions are row strides in elements.
/// </summary>
/// <remarks>
/// When β is zero, C is only written, never read, so uninitialised or NaN contents are ignored
/// (BLAS convention). C must not overlap A or B. float and double go to SIMD microkernels; other types use a
/// scalar loop. Large products may run their bottom rows on a thread-pool thread (see GemmParallel).
/// </remarks>
public static class Gemm
{
    public static void Multiply<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0 || T.IsZero(alpha))
        {
            ScaleC(m, n, beta, c, ldc);
            return;
        }

        if (typeof(T) == typeof(float))
        {
            GemmDriver.Run(transA, transB, m, n, k, Unsafe.As<T, float>(ref alpha),
                MemoryMarshal.Cast<T, float>(a), lda, MemoryMarshal.Cast<T, float>(b), ldb,
                Unsafe.As<T, float>(ref beta), MemoryMarshal.Cast<T, float>(c), ldc);
        }
        else if (typeof(T) == typeof(double))
        {
            GemmDriver.Run(transA, transB, m, n, k, Unsafe.As<T, double>(ref alpha),
                MemoryMarshal.Cast<T, double>(a), lda, MemoryMarshal.Cast<T, double>(b), ldb,
                Unsafe.As<T, double>(ref beta), MemoryMarshal.Cast<T, double>(c), ldc);
        }
        else
        {
            GemmScalar.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }
    }

    /// <summary>C = β·C over the m×n window, writing zeros (not β·NaN) when β is zero.</summary>
    internal static void ScaleC<T>(int m, int n, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (beta == T.One) return;
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * ldc, n);
            if (T.IsZero(beta)) row.Clear();
            else System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
        }
    }

    internal static void Validate(bool transA, bool transB, int m, int n, int k,
        int aLength, int lda, int bLength, int ldb, int cLength, int ldc)
    {
        if (m < 0) throw new ArgumentOutOfRangeException(nameof(m), m, "m must be non-negative.");
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "n must be non-negative.");
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be non-negative.");
        // op(A) is m×k: stored m×k (rows of k) or, transposed, k×m (rows of m).
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        CheckOperand("a", "lda", aRows, aCols, aLength, lda);
        CheckOperand("b", "ldb", bRows, bCols, bLength, ldb);
        CheckOperand("c", "ldc", m, n, cLength, ldc);
    }

    private static void CheckOperand(string name, string ldName, int rows, int cols, int length, int ld)
    {
        if (ld < Math.Max(1, cols))
            throw new ArgumentException($"{ldName} = {ld} is smaller than the {cols} columns of the stored {name} ({rows}×{cols}).", ldName);
        if (rows == 0 || cols == 0) return;
        long needed = (long)(rows - 1) * ld + cols;
        if (length < needed)
            throw new ArgumentException($"{name} has {length} elements but a {rows}×{cols} matrix with leading dimension {ld} needs {needed}.", name);
    }
}
