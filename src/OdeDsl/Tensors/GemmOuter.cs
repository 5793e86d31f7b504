using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace OdeDsl.Tensors;

/// <summary>
/// C = α·Aᵀ·B + β·C with A stored k×m and B stored k×n (both read row by row, neither transposed in memory) when
/// one of m, n is tiny and the other at least one vector wide: the weight gradients of a narrow layer over a batch of k
/// rows (the spiral field's gradW2 += a11ᵀ·f10, m = 2, and gradW1 += a8ᵀ·f7, n = 2). The product is an accumulation
/// of k outer products, X[p, :]ᵀ·Y[p, :], where X is the operand with the tiny side (R columns) and Y the wide one
/// (N columns): each Y row is loaded once per pair of X columns, with no packing, transposition or tile set-up.
/// When n is the tiny side (m wide), X = B and Y = A and the kernel computes Cᵀ, merged into C through a scratch tile.
/// </summary>
/// <remarks>
/// Summation order (fixed; the same on every vector width and for every m, n): each element is
/// s = +0, then s = fma(X[p, r], Y[p, j], s) for p = 0, 1, …, k − 1 (rows in order, one fused multiply-add each), then C = α·s + β·C (two roundings, not fused; C is not read when β = 0). Vector512 and Vector256 paths and
/// the scalar model in the tests agree bit for bit. Y's columns are covered by whole vectors, the last one ending at
/// column N (overlapping its neighbour, which computes the same bits); four strips are accumulated at a time, grouped
/// from the right so that an overlapping pair lands in one group, whose C values are all read before any is stored.
/// </remarks>
internal static unsafe class GemmOuter
{
    /// <summary>The tiny side's limit (X columns). Above it the blocked kernels' register tiles pay off.</summary>
    public const int MaxSmall = 4;

    /// <summary>The wide side's limit: beyond it the four-strip groups re-stream X too often to beat the blocked path.</summary>
    public const int MaxWide = 256;

    /// <summary>Whether an Aᵀ·B product (m×n, inner k) with vectors of <paramref name="lanes"/> elements takes this kernel.</summary>
    public static bool Applies(bool transA, bool transB, int m, int n, int lanes)
    {
        if (!transA || transB) return false;
        int small = Math.Min(m, n), wide = Math.Max(m, n);
        return small <= MaxSmall && wide >= lanes && wide <= MaxWide;
    }

    /// <summary>Calls on this thread (for the dispatch tests; results cannot tell the paths apart, as the blocked
    /// kernels happen to use the same per-element order for these shapes).</summary>
    [ThreadStatic] internal static int Calls;

    /// <summary>Runs the product on Vector512 (<paramref name="wide"/>) or Vector256. Callers have validated the extents.</summary>
    public static void Run<T>(bool wide, int m, int n, int k, T alpha, T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Calls++;
        bool readC = !T.IsZero(beta);
        if (m <= n)
        {
            if (wide) Outer512(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, readC);
            else Outer256(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, readC);
            return;
        }
        // n tiny, m wide: Cᵀ (n×m) = Bᵀ·A into scratch with α = 1, β = 0, then C[i, j] = α·Cᵀ[j, i] + β·C[i, j].
        T* ct = GemmScratch<T>.Get(GemmScratch<T>.Transposed, n * m);
        if (wide) Outer512(n, m, k, T.One, b, ldb, a, lda, T.Zero, ct, m, false);
        else Outer256(n, m, k, T.One, b, ldb, a, lda, T.Zero, ct, m, false);
        for (int i = 0; i < m; i++)
        {
            T* ci = c + i * ldc;
            for (int j = 0; j < n; j++) ci[j] = GemmTile.Combine(ct[j * (nint)m + i], ci[j], alpha, beta, readC);
        }
    }

    // out[r, j] (r < rows, j < cols, row stride ldo) = α·Σ_p x[p, r]·y[p, j] + β·out[r, j].
    private static void Outer512<T>(int rows, int cols, int k, T alpha, T* x, nint ldx, T* y, nint ldy, T beta, T* o, nint ldo, bool readC)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count;
        int strips = (cols + w - 1) / w;
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        for (int g = strips; g > 0; g -= 4)
        {
            int first = Math.Max(0, g - 4);
            nint o0 = Offset(first, cols, w), o1 = Offset(Math.Min(first + 1, g - 1), cols, w);
            nint o2 = Offset(Math.Min(first + 2, g - 1), cols, w), o3 = Offset(Math.Min(first + 3, g - 1), cols, w);
            for (int r0 = 0; r0 < rows; r0 += 2)
            {
                int r1 = Math.Min(r0 + 1, rows - 1);
                Vector512<T> s00 = default, s01 = default, s02 = default, s03 = default;
                Vector512<T> s10 = default, s11 = default, s12 = default, s13 = default;
                T* xp = x, yp = y;
                for (int p = 0; p < k; p++, xp += ldx, yp += ldy)
                {
                    var y0 = Vector512.Load(yp + o0); var y1 = Vector512.Load(yp + o1);
                    var y2 = Vector512.Load(yp + o2); var y3 = Vector512.Load(yp + o3);
                    var x0 = Vector512.Create(xp[r0]);
                    s00 = Fma(x0, y0, s00); s01 = Fma(x0, y1, s01); s02 = Fma(x0, y2, s02); s03 = Fma(x0, y3, s03);
                    var x1 = Vector512.Create(xp[r1]);
                    s10 = Fma(x1, y0, s10); s11 = Fma(x1, y1, s11); s12 = Fma(x1, y2, s12); s13 = Fma(x1, y3, s13);
                }
                Store(o + r0 * ldo, o0, o1, o2, o3, s00, s01, s02, s03, va, vb, readC);
                if (r1 != r0) Store(o + r1 * ldo, o0, o1, o2, o3, s10, s11, s12, s13, va, vb, readC);
            }
        }
    }

    private static void Outer256<T>(int rows, int cols, int k, T alpha, T* x, nint ldx, T* y, nint ldy, T beta, T* o, nint ldo, bool readC)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count;
        int strips = (cols + w - 1) / w;
        var va = Vector256.Create(alpha);
        var vb = Vector256.Create(beta);
        for (int g = strips; g > 0; g -= 4)
        {
            int first = Math.Max(0, g - 4);
            nint o0 = Offset(first, cols, w), o1 = Offset(Math.Min(first + 1, g - 1), cols, w);
            nint o2 = Offset(Math.Min(first + 2, g - 1), cols, w), o3 = Offset(Math.Min(first + 3, g - 1), cols, w);
            for (int r0 = 0; r0 < rows; r0 += 2)
            {
                int r1 = Math.Min(r0 + 1, rows - 1);
                Vector256<T> s00 = default, s01 = default, s02 = default, s03 = default;
                Vector256<T> s10 = default, s11 = default, s12 = default, s13 = default;
                T* xp = x, yp = y;
                for (int p = 0; p < k; p++, xp += ldx, yp += ldy)
                {
                    var y0 = Vector256.Load(yp + o0); var y1 = Vector256.Load(yp + o1);
                    var y2 = Vector256.Load(yp + o2); var y3 = Vector256.Load(yp + o3);
                    var x0 = Vector256.Create(xp[r0]);
                    s00 = Fma(x0, y0, s00); s01 = Fma(x0, y1, s01); s02 = Fma(x0, y2, s02); s03 = Fma(x0, y3, s03);
                    var x1 = Vector256.Create(xp[r1]);
                    s10 = Fma(x1, y0, s10); s11 = Fma(x1, y1, s11); s12 = Fma(x1, y2, s12); s13 = Fma(x1, y3, s13);
                }
                Store(o + r0 * ldo, o0, o1, o2, o3, s00, s01, s02, s03, va, vb, readC);
                if (r1 != r0) Store(o + r1 * ldo, o0, o1, o2, o3, s10, s11, s12, s13, va, vb, readC);
            }
        }
    }

    /// <summary>Strip s covers columns [s·w, s·w + w), except a partial last strip, which ends at column cols.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static nint Offset(int s, int cols, int w) => Math.Min(s * w, cols - w);

    // All four C strips are read before any is stored: strips may coincide or overlap (the same bits go to shared columns).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(T* row, nint o0, nint o1, nint o2, nint o3, Vector512<T> s0, Vector512<T> s1, Vector512<T> s2,
        Vector512<T> s3, Vector512<T> va, Vector512<T> vb, bool readC) where T : unmanaged, IFloatingPointIeee754<T>
    {
        s0 *= va; s1 *= va; s2 *= va; s3 *= va;
        if (readC)
        {
            s0 += vb * Vector512.Load(row + o0); s1 += vb * Vector512.Load(row + o1);
            s2 += vb * Vector512.Load(row + o2); s3 += vb * Vector512.Load(row + o3);
        }
        s0.Store(row + o0); s1.Store(row + o1); s2.Store(row + o2); s3.Store(row + o3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(T* row, nint o0, nint o1, nint o2, nint o3, Vector256<T> s0, Vector256<T> s1, Vector256<T> s2,
        Vector256<T> s3, Vector256<T> va, Vector256<T> vb, bool readC) where T : unmanaged, IFloatingPointIeee754<T>
    {
        s0 *= va; s1 *= va; s2 *= va; s3 *= va;
        if (readC)
        {
            s0 += vb * Vector256.Load(row + o0); s1 += vb * Vector256.Load(row + o1);
            s2 += vb * Vector256.Load(row + o2); s3 += vb * Vector256.Load(row + o3);
        }
        s0.Store(row + o0); s1.Store(row + o1); s2.Store(row + o2); s3.Store(row + o3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Fma<T>(Vector512<T> a, Vector512<T> b, Vector512<T> c) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        return Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Fma<T>(Vector256<T> a, Vector256<T> b, Vector256<T> c) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Vector256.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        return Vector256.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
    }
}
