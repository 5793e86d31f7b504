using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace OdeDsl;

/// <summary>
/// The vector passes of a Runge-Kutta step over a block of the [batch, state] array: stage inputs and interpolants
/// (y + Σ cⱼkⱼ), the scaled error of the embedded estimate, and the finiteness check. Each runs as ONE pass over the
/// block with all stage terms accumulated in a register, instead of one pass per stage: at batch 1024 the stage slots
/// are 7 × 16 KB and a pass per slot streamed them through L2 once each (measured in docs/performance.md).
/// </summary>
/// <remarks>
/// Every element gets the scalar statement's operations in the scalar statement's order: start from y (or 0), then for
/// each non-zero coefficient in slot order one multiply and one add (.NET does not contract them into an FMA). So the
/// vector and scalar paths, and a row done alone or inside a block, give the same bits.
/// </remarks>
[SkipLocalsInit] // the stack buffers below are written before they are read
internal static class StageCombination
{
    /// <summary>The most stage terms one combination can have (dopri8's interpolant uses 16 slots).</summary>
    public const int MaxTerms = 32;

    /// <summary>dst[i] = y[i] + Σⱼ coefⱼ·k[j·n + off + i] for i &lt; dst.Length; zero coefficients are skipped. dst may be y.</summary>
    public static void Combine<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> k, int n, int off, ReadOnlySpan<T> coef, Span<T> dst)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int len = dst.Length;
        if (len < Vector256<T>.Count)
        {
            // A row or two of a small system (batch 1): no vector pass, so no list of terms to build first.
            if (y.Length < len || k.Length < (coef.Length - 1) * n + off + len) throw new ArgumentException("combination extents out of range");
            for (int e = 0; e < len; e++)
            {
                T acc = y[e];
                for (int j = 0; j < coef.Length; j++) if (coef[j] != T.Zero) acc += coef[j] * k[j * n + off + e];
                dst[e] = acc;
            }
            return;
        }
        if (coef.Length > MaxTerms) throw new ArgumentException($"at most {MaxTerms} stage terms; got {coef.Length}.", nameof(coef));
        Span<T> c = stackalloc T[coef.Length];
        Span<int> at = stackalloc int[coef.Length];
        int terms = Terms(coef, n, off, c, at);
        ref T yr = ref MemoryMarshal.GetReference(y);
        ref T kr = ref MemoryMarshal.GetReference(k);
        ref T dr = ref MemoryMarshal.GetReference(dst);
        if (y.Length < len || (terms > 0 && k.Length < at[terms - 1] + len)) throw new ArgumentException("combination extents out of range");
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= len - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var acc = Vector512.LoadUnsafe(ref yr, (nuint)i);
                for (int j = 0; j < terms; j++)
                    acc += Vector512.Create(c[j]) * Vector512.LoadUnsafe(ref kr, (nuint)(at[j] + i));
                acc.StoreUnsafe(ref dr, (nuint)i);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= len - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var acc = Vector256.LoadUnsafe(ref yr, (nuint)i);
                for (int j = 0; j < terms; j++)
                    acc += Vector256.Create(c[j]) * Vector256.LoadUnsafe(ref kr, (nuint)(at[j] + i));
                acc.StoreUnsafe(ref dr, (nuint)i);
            }
        }
        for (; i < len; i++)
        {
            T acc = Unsafe.Add(ref yr, i);
            for (int j = 0; j < terms; j++) acc += c[j] * Unsafe.Add(ref kr, at[j] + i);
            Unsafe.Add(ref dr, i) = acc;
        }
    }

    /// <summary>
    /// dst[i] = (Σⱼ coefⱼ·k[j·n + i]) / (atol + rtol·max(|y[i]|, |yNew[i]|)) over the whole [0, n) block, with one
    /// tolerance pair for every component (per-component tolerances take the row-wise path in the solver).
    /// </summary>
    public static void ScaledError<T>(ReadOnlySpan<T> k, int n, ReadOnlySpan<T> coef, ReadOnlySpan<T> y, ReadOnlySpan<T> yNew,
        T atol, T rtol, Span<T> dst)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (y.Length < n || yNew.Length < n || dst.Length < n) throw new ArgumentException("error extents out of range");
        ScaledError(k, n, 0, coef, y[..n], yNew[..n], atol, rtol, dst[..n]);
    }

    /// <summary>
    /// The same over the range [off, off + dst.Length) of the block: y, yNew and dst are that range (a piece of the block
    /// for <see cref="StagePasses{T}"/>), the stage slots are read at k[j·n + off + i]. Each element gets the same
    /// operations as in the whole-block call, so pieces give the same bits.
    /// </summary>
    public static void ScaledError<T>(ReadOnlySpan<T> k, int n, int off, ReadOnlySpan<T> coef, ReadOnlySpan<T> y, ReadOnlySpan<T> yNew,
        T atol, T rtol, Span<T> dst)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (coef.Length > MaxTerms) throw new ArgumentException($"at most {MaxTerms} stage terms; got {coef.Length}.", nameof(coef));
        Span<T> c = stackalloc T[coef.Length];
        Span<int> at = stackalloc int[coef.Length];
        int terms = Terms(coef, n, off, c, at);
        int len = dst.Length;
        if (y.Length < len || yNew.Length < len || (terms > 0 && k.Length < at[terms - 1] + len))
            throw new ArgumentException("error extents out of range");
        ref T kr = ref MemoryMarshal.GetReference(k);
        ref T yr = ref MemoryMarshal.GetReference(y);
        ref T nr = ref MemoryMarshal.GetReference(yNew);
        ref T dr = ref MemoryMarshal.GetReference(dst);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(atol); var vr = Vector256.Create(rtol);
            for (; i <= len - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var acc = Vector256<T>.Zero;
                for (int j = 0; j < terms; j++)
                    acc += Vector256.Create(c[j]) * Vector256.LoadUnsafe(ref kr, (nuint)(at[j] + i));
                var big = Vector256.Max(Vector256.Abs(Vector256.LoadUnsafe(ref yr, (nuint)i)), Vector256.Abs(Vector256.LoadUnsafe(ref nr, (nuint)i)));
                (acc / (va + vr * big)).StoreUnsafe(ref dr, (nuint)i);
            }
        }
        for (; i < len; i++)
        {
            T acc = T.Zero;
            for (int j = 0; j < terms; j++) acc += c[j] * Unsafe.Add(ref kr, at[j] + i);
            T tol = atol + rtol * T.Max(T.Abs(Unsafe.Add(ref yr, i)), T.Abs(Unsafe.Add(ref nr, i)));
            Unsafe.Add(ref dr, i) = acc / tol;
        }
    }

    /// <summary>Whether every element is finite: x − x is 0 for finite x and NaN for ±∞ and NaN.</summary>
    public static bool AllFinite<T>(ReadOnlySpan<T> v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T r = ref MemoryMarshal.GetReference(v);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var bad = Vector256<T>.Zero;
            for (; i <= v.Length - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var x = Vector256.LoadUnsafe(ref r, (nuint)i);
                bad |= ~Vector256.Equals(x - x, Vector256<T>.Zero);
            }
            if (bad != Vector256<T>.Zero) return false;
        }
        for (; i < v.Length; i++) if (!T.IsFinite(Unsafe.Add(ref r, i))) return false;
        return true;
    }

    private static int Terms<T>(ReadOnlySpan<T> coef, int n, int off, Span<T> c, Span<int> at) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int terms = 0;
        for (int j = 0; j < coef.Length; j++)
        {
            if (coef[j] == T.Zero) continue;
            c[terms] = coef[j]; at[terms] = j * n + off; terms++;
        }
        return terms;
    }
}
