using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OdeDsl.Tensors;

/// <summary>
/// Products with a short inner dimension (k ≤ 4: the first layer of a field with 2 or 3 inputs, e.g. the spiral's
/// 2 → 50) and a row at least one vector wide. The register-tile kernels pay for packing and for k-loop set-up that
/// such a product cannot amortise; here α·op(B) (k·n values) is packed once on the stack and every row of C is
/// β·C + Σ_p a_ip·B_p, one vector multiply-add per (p, strip). Callers have validated the extents.
/// </summary>
internal static class GemmSmallK
{
    public const int MaxK = 4;
    public const int MaxN = 512; // packed α·op(B) on the stack: at most 4·512 doubles (16 KiB)

    public static bool Applies<T>(int n, int k) where T : unmanaged =>
        Vector.IsHardwareAccelerated && k <= MaxK && n >= Vector<T>.Count && n <= MaxN;

    public static void Run<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> packed = stackalloc T[k * n];
        for (int p = 0; p < k; p++)
            for (int j = 0; j < n; j++) packed[p * n + j] = alpha * (transB ? b[j * ldb + p] : b[p * ldb + j]);

        int width = Vector<T>.Count, body = n - n % width;
        bool readC = !T.IsZero(beta), scaleC = readC && beta != T.One;
        var vbeta = new Vector<T>(beta);
        ref T pr = ref MemoryMarshal.GetReference(packed);
        nuint n1 = (nuint)n, n2 = 2 * n1, n3 = 3 * n1;
        for (int i = 0; i < m; i++)
        {
            // this row of op(A), zero-padded to four terms (a zero term adds 0·B, and its packed row is never read)
            T a0 = A(a, transA, lda, i, 0), a1 = k > 1 ? A(a, transA, lda, i, 1) : T.Zero;
            T a2 = k > 2 ? A(a, transA, lda, i, 2) : T.Zero, a3 = k > 3 ? A(a, transA, lda, i, 3) : T.Zero;
            Vector<T> v0 = new(a0), v1 = new(a1), v2 = new(a2), v3 = new(a3);
            var row = c.Slice(i * ldc, n);
            ref T cr = ref MemoryMarshal.GetReference(row);
            for (int j = 0; j < body; j += width)
            {
                nuint o = (nuint)j;
                var acc = Vector<T>.Zero;
                if (readC) acc = scaleC ? vbeta * Vector.LoadUnsafe(ref cr, o) : Vector.LoadUnsafe(ref cr, o);
                acc += v0 * Vector.LoadUnsafe(ref pr, o);
                if (k > 1) acc += v1 * Vector.LoadUnsafe(ref pr, n1 + o);
                if (k > 2) acc += v2 * Vector.LoadUnsafe(ref pr, n2 + o);
                if (k > 3) acc += v3 * Vector.LoadUnsafe(ref pr, n3 + o);
                Vector.StoreUnsafe(acc, ref cr, o);
            }
            for (int j = body; j < n; j++)
            {
                T acc = readC ? (scaleC ? beta * row[j] : row[j]) : T.Zero;
                acc += a0 * packed[j];
                if (k > 1) acc += a1 * packed[n + j];
                if (k > 2) acc += a2 * packed[2 * n + j];
                if (k > 3) acc += a3 * packed[3 * n + j];
                row[j] = acc;
            }
        }
    }

    private static T A<T>(ReadOnlySpan<T> a, bool transA, int lda, int i, int p) where T : unmanaged =>
        transA ? a[p * lda + i] : a[i * lda + p];
}
