using System.Numerics;
using System.Runtime.InteropServices;

namespace OdeDsl.Tensors;

/// <summary>
/// Small SIMD reductions and affine maps over spans (Vector&lt;T&gt;, any width) that TensorPrimitives lacks in the
/// centred or three-operand forms group normalisation needs. Centring inside the loop keeps sums of squared
/// deviations accurate where E[x²] − μ² would cancel.
/// </summary>
internal static class SpanMath
{
    /// <summary>Σ (x − c)².</summary>
    public static T SumSquaresCentered<T>(ReadOnlySpan<T> x, T c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var vx = MemoryMarshal.Cast<T, Vector<T>>(x);
        var vc = new Vector<T>(c);
        Vector<T> s0 = Vector<T>.Zero, s1 = Vector<T>.Zero;
        int i = 0;
        for (; i + 1 < vx.Length; i += 2)
        {
            var d0 = vx[i] - vc; var d1 = vx[i + 1] - vc;
            s0 += d0 * d0; s1 += d1 * d1;
        }
        if (i < vx.Length) { var d = vx[i] - vc; s0 += d * d; }
        T sum = Vector.Sum(s0 + s1);
        for (int j = vx.Length * Vector<T>.Count; j < x.Length; j++) { T d = x[j] - c; sum += d * d; }
        return sum;
    }

    /// <summary>(Σ a, Σ a·(x − c)) in one pass.</summary>
    public static (T Sum, T SumCentered) SumAndProductCentered<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> x, T c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var va = MemoryMarshal.Cast<T, Vector<T>>(a);
        var vx = MemoryMarshal.Cast<T, Vector<T>>(x[..a.Length]);
        var vc = new Vector<T>(c);
        Vector<T> s = Vector<T>.Zero, p = Vector<T>.Zero;
        for (int i = 0; i < va.Length; i++)
        {
            s += va[i];
            p += va[i] * (vx[i] - vc);
        }
        T sum = Vector.Sum(s), prod = Vector.Sum(p);
        for (int j = va.Length * Vector<T>.Count; j < a.Length; j++) { sum += a[j]; prod += a[j] * (x[j] - c); }
        return (sum, prod);
    }

    /// <summary>dst = u·α + v·β + γ element-wise (dst may alias u or v).</summary>
    public static void Combine<T>(ReadOnlySpan<T> u, T alpha, ReadOnlySpan<T> v, T beta, T gamma, Span<T> dst)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var vu = MemoryMarshal.Cast<T, Vector<T>>(u);
        var vv = MemoryMarshal.Cast<T, Vector<T>>(v[..u.Length]);
        var vd = MemoryMarshal.Cast<T, Vector<T>>(dst[..u.Length]);
        Vector<T> a = new(alpha), b = new(beta), g = new(gamma);
        for (int i = 0; i < vu.Length; i++) vd[i] = vu[i] * a + vv[i] * b + g;
        for (int j = vu.Length * Vector<T>.Count; j < u.Length; j++) dst[j] = u[j] * alpha + v[j] * beta + gamma;
    }

    /// <summary>dst = x·scale + shift element-wise.</summary>
    public static void Affine<T>(ReadOnlySpan<T> x, T scale, T shift, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var vx = MemoryMarshal.Cast<T, Vector<T>>(x);
        var vd = MemoryMarshal.Cast<T, Vector<T>>(dst[..x.Length]);
        Vector<T> a = new(scale), b = new(shift);
        for (int i = 0; i < vx.Length; i++) vd[i] = vx[i] * a + b;
        for (int j = vx.Length * Vector<T>.Count; j < x.Length; j++) dst[j] = x[j] * scale + shift;
    }
}
