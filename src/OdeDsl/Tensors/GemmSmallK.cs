using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace OdeDsl.Tensors;

/// <summary>
/// Products with a short inner dimension (k ≤ 4: the first layer of a field with 2 or 3 inputs, e.g. the spiral's
/// 2 → 50) and a row at least one vector wide. The register-tile kernels pay for packing and for k-loop set-up that
/// such a product cannot amortise; here α·op(B) (k·n values) is packed once on the stack and every row of C is
/// β·C + a_i0·B_0 + a_i1·B_1 + … (in that order, each product rounded then added, not fused; without β the sum
/// starts from a_i0·B_0), one vector multiply and add per (p, strip). Every element gets that same expression
/// whatever the vector width, so the Vector512 and Vector&lt;T&gt; paths agree bit for bit. A row's last strip is the
/// vector that ends at column n (overlapping the previous one), computed before the other strips are stored so that
/// it reads the original C. k is a JIT-time constant in each loop (one inlined copy per k). Callers have validated
/// the extents.
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
        bool wide = Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported && n >= Vector512<T>.Count;
        Run(wide, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /// <summary>The same product on Vector512 (<paramref name="wide"/>, needs n ≥ Vector512&lt;T&gt;.Count) or on
    /// Vector&lt;T&gt;; internal so that tests run both widths.</summary>
    internal static void Run<T>(bool wide, bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> packed = stackalloc T[k * n];
        // α·B_pj, the same single rounding either way; B's rows (not transposed) are scaled as whole spans.
        if (transB)
            for (int p = 0; p < k; p++)
                for (int j = 0; j < n; j++) packed[p * n + j] = alpha * b[j * ldb + p];
        else
            for (int p = 0; p < k; p++) TensorPrimitives.Multiply(b.Slice(p * ldb, n), alpha, packed.Slice(p * n, n));

        bool readC = !T.IsZero(beta);
        if (readC && beta != T.One) Gemm.ScaleC(m, n, beta, c, ldc); // β·C first, as the sum's first term
        ref T pr = ref MemoryMarshal.GetReference(packed);
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T cr = ref MemoryMarshal.GetReference(c);
        nint ars = transA ? 1 : lda, acs = transA ? lda : 1;
        if (wide)
        {
            switch ((k, readC))
            {
                case (1, false): Rows512(1, false, m, n, ref ar, ars, acs, ref pr, ref cr, ldc); break;
                case (2, false): Rows512(2, false, m, n, ref ar, ars, acs, ref pr, ref cr, ldc); break;
                case (3, false): Rows512(3, false, m, n, ref ar, ars, acs, ref pr, ref cr, ldc); break;
                case (4, false): Rows512(4, false, m, n, ref ar, ars, acs, ref pr, ref cr, ldc); break;
                case (1, true): Rows512(1, true, m, n, ref ar, ars, acs, ref pr, ref cr, ldc); break;
                case (2, true): Rows512(2, true, m, n, ref ar, ars, acs, ref pr, ref cr, ldc); break;
                case (3, true): Rows512(3, true, m, n, ref ar, ars, acs, ref pr, ref cr, ldc); break;
                default: Rows512(4, true, m, n, ref ar, ars, acs, ref pr, ref cr, ldc); break;
            }
        }
        else
        {
            switch ((k, readC))
            {
                case (1, false): RowsVector(1, false, m, n, ref ar, ars, acs, ref pr, ref cr, ldc); break;
                case (2, false): RowsVector(2, false, m, n, ref ar, ars, acs, ref pr, ref cr, ldc); break;
                case (3, false): RowsVector(3, false, m, n, ref ar, ars, acs, ref pr, ref cr, ldc); break;
                case (4, false): RowsVector(4, false, m, n, ref ar, ars, acs, ref pr, ref cr, ldc); break;
                case (1, true): RowsVector(1, true, m, n, ref ar, ars, acs, ref pr, ref cr, ldc); break;
                case (2, true): RowsVector(2, true, m, n, ref ar, ars, acs, ref pr, ref cr, ldc); break;
                case (3, true): RowsVector(3, true, m, n, ref ar, ars, acs, ref pr, ref cr, ldc); break;
                default: RowsVector(4, true, m, n, ref ar, ars, acs, ref pr, ref cr, ldc); break;
            }
        }
    }

    // k and readC are constants at every call site, so each inlined copy keeps only its own terms.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows512<T>(int k, bool readC, int m, int n, ref T a, nint ars, nint acs, ref T pb, ref T c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int width = Vector512<T>.Count;
        nuint n1 = (nuint)n, n2 = 2 * n1, n3 = 3 * n1, last = (nuint)(n - width);
        for (int i = 0; i < m; i++)
        {
            ref T ai = ref Unsafe.Add(ref a, i * ars);
            var v0 = Vector512.Create(ai);
            var v1 = k > 1 ? Vector512.Create(Unsafe.Add(ref ai, acs)) : default;
            var v2 = k > 2 ? Vector512.Create(Unsafe.Add(ref ai, 2 * acs)) : default;
            var v3 = k > 3 ? Vector512.Create(Unsafe.Add(ref ai, 3 * acs)) : default;
            ref T ci = ref Unsafe.Add(ref c, (nint)i * ldc);
            var tail = v0 * Vector512.LoadUnsafe(ref pb, last);
            if (readC) tail = Vector512.LoadUnsafe(ref ci, last) + tail;
            if (k > 1) tail += v1 * Vector512.LoadUnsafe(ref pb, n1 + last);
            if (k > 2) tail += v2 * Vector512.LoadUnsafe(ref pb, n2 + last);
            if (k > 3) tail += v3 * Vector512.LoadUnsafe(ref pb, n3 + last);
            for (nuint o = 0; o < last; o += (nuint)width)
            {
                var acc = v0 * Vector512.LoadUnsafe(ref pb, o);
                if (readC) acc = Vector512.LoadUnsafe(ref ci, o) + acc;
                if (k > 1) acc += v1 * Vector512.LoadUnsafe(ref pb, n1 + o);
                if (k > 2) acc += v2 * Vector512.LoadUnsafe(ref pb, n2 + o);
                if (k > 3) acc += v3 * Vector512.LoadUnsafe(ref pb, n3 + o);
                acc.StoreUnsafe(ref ci, o);
            }
            tail.StoreUnsafe(ref ci, last);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowsVector<T>(int k, bool readC, int m, int n, ref T a, nint ars, nint acs, ref T pb, ref T c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int width = Vector<T>.Count;
        nuint n1 = (nuint)n, n2 = 2 * n1, n3 = 3 * n1, last = (nuint)(n - width);
        for (int i = 0; i < m; i++)
        {
            ref T ai = ref Unsafe.Add(ref a, i * ars);
            var v0 = new Vector<T>(ai);
            var v1 = k > 1 ? new Vector<T>(Unsafe.Add(ref ai, acs)) : default;
            var v2 = k > 2 ? new Vector<T>(Unsafe.Add(ref ai, 2 * acs)) : default;
            var v3 = k > 3 ? new Vector<T>(Unsafe.Add(ref ai, 3 * acs)) : default;
            ref T ci = ref Unsafe.Add(ref c, (nint)i * ldc);
            var tail = v0 * Vector.LoadUnsafe(ref pb, last);
            if (readC) tail = Vector.LoadUnsafe(ref ci, last) + tail;
            if (k > 1) tail += v1 * Vector.LoadUnsafe(ref pb, n1 + last);
            if (k > 2) tail += v2 * Vector.LoadUnsafe(ref pb, n2 + last);
            if (k > 3) tail += v3 * Vector.LoadUnsafe(ref pb, n3 + last);
            for (nuint o = 0; o < last; o += (nuint)width)
            {
                var acc = v0 * Vector.LoadUnsafe(ref pb, o);
                if (readC) acc = Vector.LoadUnsafe(ref ci, o) + acc;
                if (k > 1) acc += v1 * Vector.LoadUnsafe(ref pb, n1 + o);
                if (k > 2) acc += v2 * Vector.LoadUnsafe(ref pb, n2 + o);
                if (k > 3) acc += v3 * Vector.LoadUnsafe(ref pb, n3 + o);
                Vector.StoreUnsafe(acc, ref ci, o);
            }
            Vector.StoreUnsafe(tail, ref ci, last);
        }
    }
}
