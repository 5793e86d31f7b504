using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace OdeDsl.Tensors;

/// <summary>
/// Single-precision tanh on Vector256, faster than TensorPrimitives.Tanh on this AVX2 machine (figures in
/// docs/performance.md), with at most 2.2 float ulps of error in a dense test sweep against Math.Tanh.
/// <list type="bullet">
/// <item>|x| &lt; 0.3: the odd Taylor series of tanh through x¹⁵. The coefficients are the series' own,
/// 2²ⁿ(2²ⁿ − 1)B₂ₙ/(2n)!, and the truncation error is below 1e-10.</item>
/// <item>0.3 ≤ |x| &lt; 10: tanh|x| = (1 − e)/(1 + e) with e = exp(−2|x|) ≤ 0.55, so 1 − e does not cancel. exp uses
/// Cody–Waite range reduction y = n·ln2 + r, |r| ≤ ln2/2, a degree-7 Taylor polynomial (error &lt; 6e-9) and 2ⁿ
/// built in the exponent bits.</item>
/// <item>|x| ≥ 10: ±1, because tanh(10) = 1 − 4e-9 rounds to 1 in float. NaN passes through.</item>
/// </list>
/// A double-precision variant (below) uses expm1 instead, so that it keeps double accuracy without a series branch.
/// </summary>
internal static class FastTanh
{
    public static bool IsSupported => Vector256.IsHardwareAccelerated;

    public static void Apply(ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length < x.Length) throw new ArgumentException($"destination has {y.Length} elements but the source has {x.Length}.", nameof(y));
        var vx = MemoryMarshal.Cast<float, Vector256<float>>(x);
        var vy = MemoryMarshal.Cast<float, Vector256<float>>(y[..x.Length]);
        for (int i = 0; i < vx.Length; i++) vy[i] = Tanh(vx[i]);
        int done = vx.Length * Vector256<float>.Count;
        if (done < x.Length)
        {
            // Tail: pad into one vector so every element takes the same path.
            Span<float> buffer = stackalloc float[Vector256<float>.Count];
            buffer.Clear();
            x[done..].CopyTo(buffer);
            Tanh(Vector256.Create((ReadOnlySpan<float>)buffer)).CopyTo(buffer);
            buffer[..(x.Length - done)].CopyTo(y[done..]);
        }
    }

    /// <summary>
    /// Double precision: tanh|x| = −E/(2 + E) with E = expm1(−2|x|) ∈ (−1, 0], which has no cancellation for small
    /// |x| (E ≈ −2|x| keeps its relative accuracy). expm1(y) = 2ⁿ·expm1(r) + (2ⁿ − 1) with y = n·ln2 + r,
    /// |r| ≤ ln2/2 (Cody–Waite, ln2 split in two), expm1(r) by its Taylor series through r¹³ (truncation below 2e-17
    /// relative) and 2ⁿ built in the exponent bits; n comes from the 1.5·2⁵² rounding trick because AVX2 has no
    /// double → int64 conversion. |x| is clamped to 20, where tanh rounds to 1. A few double ulps (test sweep).
    /// </summary>
    public static void Apply(ReadOnlySpan<double> x, Span<double> y)
    {
        if (y.Length < x.Length) throw new ArgumentException($"destination has {y.Length} elements but the source has {x.Length}.", nameof(y));
        var vx = MemoryMarshal.Cast<double, Vector256<double>>(x);
        var vy = MemoryMarshal.Cast<double, Vector256<double>>(y[..x.Length]);
        for (int i = 0; i < vx.Length; i++) vy[i] = Tanh(vx[i]);
        int done = vx.Length * Vector256<double>.Count;
        if (done < x.Length)
        {
            Span<double> buffer = stackalloc double[Vector256<double>.Count];
            buffer.Clear();
            x[done..].CopyTo(buffer);
            Tanh(Vector256.Create((ReadOnlySpan<double>)buffer)).CopyTo(buffer);
            buffer[..(x.Length - done)].CopyTo(y[done..]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<double> Tanh(Vector256<double> x)
    {
        var a = Vector256.Min(Vector256.Abs(x), Vector256.Create(20.0));
        var yv = a * Vector256.Create(-2.0);                                              // y ∈ [−40, 0]
        var magic = Vector256.Create(6755399441055744.0);                                  // 1.5·2⁵²
        var shifted = Vector256.FusedMultiplyAdd(yv, Vector256.Create(1.4426950408889634), magic); // magic + round(y/ln2)
        var n = shifted - magic;
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-0.6931471803691238), yv);   // ln2 high part (exact n·hi)
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-1.9082149292705877e-10), r);   // ln2 low part
        // expm1(r) = r + r²·q(r), q(r) = 1/2! + r/3! + … + r¹¹/13!
        var q = Vector256.Create(1.0 / 6227020800.0);
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(1.0 / 479001600.0));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(1.0 / 39916800.0));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(1.0 / 3628800.0));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(1.0 / 362880.0));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(1.0 / 40320.0));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(1.0 / 5040.0));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(1.0 / 720.0));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(1.0 / 120.0));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(1.0 / 24.0));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(1.0 / 6.0));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(0.5));
        var em = Vector256.FusedMultiplyAdd(r * r, q, r);
        var scale = ((shifted.AsInt64() - magic.AsInt64() + Vector256.Create(1023L)) << 52).AsDouble(); // 2ⁿ, n ∈ [−58, 0]
        var e = Vector256.FusedMultiplyAdd(scale, em, scale - Vector256<double>.One);     // expm1(y)
        var magnitude = -e / (e + Vector256.Create(2.0));
        var signed = Vector256.CopySign(magnitude, x);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), signed, x); // NaN stays NaN
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Tanh(Vector256<float> x)
    {
        var a = Vector256.Abs(x);

        // Series for small |x|: x·(1 + x²·(c3 + x²·(c5 + …))).
        var z = a * a;
        var p = Vector256.Create(-0.0014558343870513183f);                               // −929569/638512875
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(0.0035921280365724811f));   // 21844/6081075
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(-0.0088632355299021966f));  // −1382/155925
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(0.021869488536155203f));    // 62/2835
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(-0.053968253968253968f));   // −17/315
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(0.13333333333333333f));     // 2/15
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(-0.33333333333333333f));    // −1/3
        var small = Vector256.FusedMultiplyAdd(a * z, p, a);

        // (1 − e)/(1 + e), e = exp(−2|x|).
        var yv = Vector256.Min(a, Vector256.Create(10f)) * Vector256.Create(-2f);
        var n = Vector256.Round(yv * Vector256.Create(1.4426950408889634f));        // y / ln 2
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-0.693145751953125f), yv); // ln 2 split in two parts
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-1.428606765330187e-06f), r);
        var q = Vector256.Create(1f / 5040f);
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(1f / 720f));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(1f / 120f));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(1f / 24f));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(1f / 6f));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(0.5f));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256<float>.One);
        q = Vector256.FusedMultiplyAdd(q, r, Vector256<float>.One);
        var scale = (Vector256.ConvertToInt32(n) + Vector256.Create(127)) << 23;     // 2ⁿ, n ∈ [−29, 0]
        var e = q * scale.AsSingle();
        var large = (Vector256<float>.One - e) / (Vector256<float>.One + e);

        var magnitude = Vector256.ConditionalSelect(Vector256.LessThan(a, Vector256.Create(0.3f)), small, large);
        magnitude = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(a, Vector256.Create(10f)), Vector256<float>.One, magnitude);
        var signed = Vector256.CopySign(magnitude, x);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), signed, x); // NaN stays NaN
    }
}
