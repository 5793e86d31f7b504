using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace OdeDsl.Tensors;

/// <summary>
/// <see cref="FastTanh"/> on Vector512, for machines where AVX-512 is accelerated: the same algorithms, constants and
/// operation order, 16 floats or 8 doubles per vector. Every step is an IEEE-rounded lane-wise operation (FMA, min,
/// round, divide, integer add/shift), so each lane computes exactly what the Vector256 kernel computes for it and the
/// error bounds documented there carry over unchanged (the tests check bitwise agreement with the Vector256 kernel).
/// The kernels are compute-bound, so twice the lanes per instruction is where the speed comes from.
/// </summary>
internal static class FastTanh512
{
    /// <summary>A JIT-time constant: false on CPUs without AVX-512, and where the runtime prefers 256-bit vectors.</summary>
    public static bool IsSupported => Vector512.IsHardwareAccelerated;

    public static void Apply(ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length < x.Length) throw new ArgumentException($"destination has {y.Length} elements but the source has {x.Length}.", nameof(y));
        var vx = MemoryMarshal.Cast<float, Vector512<float>>(x);
        var vy = MemoryMarshal.Cast<float, Vector512<float>>(y[..x.Length]);
        for (int i = 0; i < vx.Length; i++) vy[i] = Tanh(vx[i]);
        int done = vx.Length * Vector512<float>.Count;
        if (done < x.Length)
        {
            // Tail: pad into one vector on the stack, so every element takes the same path and nothing is allocated.
            // (An overlapping last vector would be wrong in place: it would re-read outputs.)
            Span<float> buffer = stackalloc float[Vector512<float>.Count];
            buffer.Clear();
            x[done..].CopyTo(buffer);
            Tanh(Vector512.Create((ReadOnlySpan<float>)buffer)).CopyTo(buffer);
            buffer[..(x.Length - done)].CopyTo(y[done..]);
        }
    }

    public static void Apply(ReadOnlySpan<double> x, Span<double> y)
    {
        if (y.Length < x.Length) throw new ArgumentException($"destination has {y.Length} elements but the source has {x.Length}.", nameof(y));
        var vx = MemoryMarshal.Cast<double, Vector512<double>>(x);
        var vy = MemoryMarshal.Cast<double, Vector512<double>>(y[..x.Length]);
        for (int i = 0; i < vx.Length; i++) vy[i] = Tanh(vx[i]);
        int done = vx.Length * Vector512<double>.Count;
        if (done < x.Length)
        {
            Span<double> buffer = stackalloc double[Vector512<double>.Count];
            buffer.Clear();
            x[done..].CopyTo(buffer);
            Tanh(Vector512.Create((ReadOnlySpan<double>)buffer)).CopyTo(buffer);
            buffer[..(x.Length - done)].CopyTo(y[done..]);
        }
    }

    /// <summary>Double: tanh|x| = (u·Q + v·N)/(v·Q + u·N) after reducing |x| by k·ln2/2; see FastTanh.Apply(double) for the
    /// derivation. AVX-512 could convert double → int64 directly, but the 1.5·2⁵² trick is kept so the lanes match FastTanh.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<double> Tanh(Vector512<double> x)
    {
        var a = Vector512.Min(Vector512.Abs(x), Vector512.Create(20.0));
        var magic = Vector512.Create(6755399441055744.0);                                      // 1.5·2⁵²
        var shifted = Vector512.FusedMultiplyAdd(a, Vector512.Create(-2.8853900817779268), magic);  // magic + k, k = round(−2|x|/ln2)
        var k = shifted - magic;
        var rho = Vector512.FusedMultiplyAdd(k, Vector512.Create(0.6931471803691238 / 2), a);      // ρ = |x| + k·ln2/2, ln2/2 in two parts
        rho = Vector512.FusedMultiplyAdd(k, Vector512.Create(1.9082149292705877e-10 / 2), rho);     // (k·high is exact)
        var s = rho * rho;
        // tanh ρ ≈ N/Q = ρ(1 + 4/33 s + 1/495 s²)/(1 + 5/11 s + 2/99 s² + 1/10395 s³), s = ρ²
        var q = Vector512.FusedMultiplyAdd(Vector512.Create(1.0 / 10395), s, Vector512.Create(2.0 / 99));
        q = Vector512.FusedMultiplyAdd(q, s, Vector512.Create(5.0 / 11));
        q = Vector512.FusedMultiplyAdd(q, s, Vector512<double>.One);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(1.0 / 495), s, Vector512.Create(4.0 / 33));
        var n = Vector512.FusedMultiplyAdd(rho * s, p, rho);                                   // ρ + ρs·p: one rounding, and ρ exactly when tiny
        var scale = ((shifted.AsInt64() + Vector512.Create(1023L)) << 52).AsDouble();          // 2ᵏ (magic's low 12 bits are 0)
        var u = Vector512<double>.One - scale;                                                  // tanh(−k·ln2/2) = u/v (exact for k ≥ −53; below, tanh is 1)
        var v = Vector512<double>.One + scale;
        var magnitude = Vector512.FusedMultiplyAdd(u, q, v * n) / Vector512.FusedMultiplyAdd(v, q, u * n);
        var signed = Vector512.CopySign(magnitude, x);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), signed, x); // NaN stays NaN
    }

    /// <summary>Float: odd Taylor series below 0.3, (1 − e)/(1 + e) with e = exp(−2|x|) up to 10, ±1 beyond;
    /// see FastTanh for the error analysis.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Tanh(Vector512<float> x)
    {
        var a = Vector512.Abs(x);

        // Series for small |x|: x·(1 + x²·(c3 + x²·(c5 + …))).
        var z = a * a;
        var p = Vector512.Create(-0.0014558343870513183f);                               // −929569/638512875
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(0.0035921280365724811f));   // 21844/6081075
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(-0.0088632355299021966f));  // −1382/155925
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(0.021869488536155203f));    // 62/2835
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(-0.053968253968253968f));   // −17/315
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(0.13333333333333333f));     // 2/15
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(-0.33333333333333333f));    // −1/3
        var small = Vector512.FusedMultiplyAdd(a * z, p, a);

        // (1 − e)/(1 + e), e = exp(−2|x|).
        var yv = Vector512.Min(a, Vector512.Create(10f)) * Vector512.Create(-2f);
        var n = Vector512.Round(yv * Vector512.Create(1.4426950408889634f));        // y / ln 2
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693145751953125f), yv); // ln 2 split in two parts
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-1.428606765330187e-06f), r);
        var q = Vector512.Create(1f / 5040f);
        q = Vector512.FusedMultiplyAdd(q, r, Vector512.Create(1f / 720f));
        q = Vector512.FusedMultiplyAdd(q, r, Vector512.Create(1f / 120f));
        q = Vector512.FusedMultiplyAdd(q, r, Vector512.Create(1f / 24f));
        q = Vector512.FusedMultiplyAdd(q, r, Vector512.Create(1f / 6f));
        q = Vector512.FusedMultiplyAdd(q, r, Vector512.Create(0.5f));
        q = Vector512.FusedMultiplyAdd(q, r, Vector512<float>.One);
        q = Vector512.FusedMultiplyAdd(q, r, Vector512<float>.One);
        var scale = (Vector512.ConvertToInt32(n) + Vector512.Create(127)) << 23;     // 2ⁿ, n ∈ [−29, 0]
        var e = q * scale.AsSingle();
        var large = (Vector512<float>.One - e) / (Vector512<float>.One + e);

        var magnitude = Vector512.ConditionalSelect(Vector512.LessThan(a, Vector512.Create(0.3f)), small, large);
        magnitude = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(a, Vector512.Create(10f)), Vector512<float>.One, magnitude);
        var signed = Vector512.CopySign(magnitude, x);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), signed, x); // NaN stays NaN
    }
}
