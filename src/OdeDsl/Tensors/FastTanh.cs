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
/// The double-precision variant (below) reduces the range with k·ln2/2 and uses a Padé form, so that it keeps double accuracy
/// without a series branch.
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
    /// Double precision, with one division and no branch. Range reduction −2|x| = k·ln2 + r, |r| ≤ ln2/2 (k from the
    /// 1.5·2⁵² rounding trick, since AVX2 has no double → int64 conversion; ln2/2 split in two so k·high is exact),
    /// ρ = −r/2 = |x| + k·ln2/2 ∈ [−ln2/4, ln2/4]. Then tanh|x| = tanh(ρ + c) with tanh c = (1 − 2ᵏ)/(1 + 2ᵏ) = u/v (u and v
    /// exact for k ≥ −53; beyond, tanh rounds to 1 anyway), and the addition theorem with tanh ρ = N/Q gives tanh|x| = (u·Q + v·N)/(v·Q + u·N). N/Q is the [6/6] Padé
    /// approximant of e^{2ρ} written as tanh ρ (the continued fraction ρ/(1 + ρ²/(3 + ρ²/(5 + …))) cut after 11), whose
    /// truncation error is about 2e-19 on that range. For k = 0 (|x| ≤ ln2/4) it is N/Q itself, so small |x| keeps its
    /// relative accuracy and tiny or subnormal x come back unchanged. |x| is clamped to 20, where tanh rounds to 1.
    /// Error: at most 2.52 double ulps against a 28-digit decimal tanh on a 600,000-point sweep of [−26, 26] (the old
    /// expm1 kernel, a degree-13 Taylor series: 2.49; Math.Tanh itself: 2.1), about 60 % of the old kernel's time
    /// (docs/performance.md). Tests: FastTanh512Tests.
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
        var magic = Vector256.Create(6755399441055744.0);                                      // 1.5·2⁵²
        var shifted = Vector256.FusedMultiplyAdd(a, Vector256.Create(-2.8853900817779268), magic);  // magic + k, k = round(−2|x|/ln2)
        var k = shifted - magic;
        var rho = Vector256.FusedMultiplyAdd(k, Vector256.Create(0.6931471803691238 / 2), a);      // ρ = |x| + k·ln2/2, ln2/2 in two parts
        rho = Vector256.FusedMultiplyAdd(k, Vector256.Create(1.9082149292705877e-10 / 2), rho);     // (k·high is exact)
        var s = rho * rho;
        // tanh ρ ≈ N/Q = ρ(1 + 4/33 s + 1/495 s²)/(1 + 5/11 s + 2/99 s² + 1/10395 s³), s = ρ²
        var q = Vector256.FusedMultiplyAdd(Vector256.Create(1.0 / 10395), s, Vector256.Create(2.0 / 99));
        q = Vector256.FusedMultiplyAdd(q, s, Vector256.Create(5.0 / 11));
        q = Vector256.FusedMultiplyAdd(q, s, Vector256<double>.One);
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(1.0 / 495), s, Vector256.Create(4.0 / 33));
        var n = Vector256.FusedMultiplyAdd(rho * s, p, rho);                                   // ρ + ρs·p: one rounding, and ρ exactly when tiny
        var scale = ((shifted.AsInt64() + Vector256.Create(1023L)) << 52).AsDouble();          // 2ᵏ (magic's low 12 bits are 0)
        var u = Vector256<double>.One - scale;                                                  // tanh(−k·ln2/2) = u/v (exact for k ≥ −53; below, tanh is 1)
        var v = Vector256<double>.One + scale;
        var magnitude = Vector256.FusedMultiplyAdd(u, q, v * n) / Vector256.FusedMultiplyAdd(v, q, u * n);
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
