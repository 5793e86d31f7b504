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

        Span<T> ai = stackalloc T[MaxK];
        int width = Vector<T>.Count, body = n - n % width;
        bool readC = !T.IsZero(beta), scaleC = readC && beta != T.One;
        var vbeta = new Vector<T>(beta);
        ref T pr = ref MemoryMarshal.GetReference(packed);
        for (int i = 0; i < m; i++)
        {
            for (int p = 0; p < k; p++) ai[p] = transA ? a[p * lda + i] : a[i * lda + p];
            var row = c.Slice(i * ldc, n);
            ref T cr = ref MemoryMarshal.GetReference(row);
            for (int j = 0; j < body; j += width)
            {
                var acc = Vector<T>.Zero;
                if (readC) acc = scaleC ? vbeta * Vector.LoadUnsafe(ref cr, (nuint)j) : Vector.LoadUnsafe(ref cr, (nuint)j);
                for (int p = 0; p < k; p++) acc += new Vector<T>(ai[p]) * Vector.LoadUnsafe(ref pr, (nuint)(p * n + j));
                Vector.StoreUnsafe(acc, ref cr, (nuint)j);
            }
            for (int j = body; j < n; j++)
            {
                T acc = readC ? (scaleC ? beta * row[j] : row[j]) : T.Zero;
                for (int p = 0; p < k; p++) acc += ai[p] * Unsafe.Add(ref pr, p * n + j);
                row[j] = acc;
            }
        }
    }
}
