using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OdeDsl.Tensors;

/// <summary>
/// Element-wise kernels over whole contiguous blocks (a generated field's [batch, n] workspace slots): the forward
/// operations, with a broadcast scalar on either side, and the accumulating forms that a reverse sweep needs
/// (acc += …). The generator's emitted code calls these instead of scalar loops over span indices; they are thin
/// wrappers over TensorPrimitives' SIMD kernels where those exist and Vector&lt;T&gt; loops otherwise.
/// Every span must have the same length as the first input (TensorPrimitives and <see cref="Check"/> throw
/// otherwise); outputs may alias inputs exactly.
/// </summary>
public static class Elementwise
{
    // ---- forward: z = x ∘ y ----

    public static void Add<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Add(x, y, z);
    public static void Add<T>(ReadOnlySpan<T> x, T y, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Add(x, y, z);
    public static void Add<T>(T x, ReadOnlySpan<T> y, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Add(y, x, z);

    public static void Subtract<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Subtract(x, y, z);
    public static void Subtract<T>(ReadOnlySpan<T> x, T y, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Subtract(x, y, z);
    public static void Subtract<T>(T x, ReadOnlySpan<T> y, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Subtract(x, y, z);

    public static void Multiply<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Multiply(x, y, z);
    public static void Multiply<T>(ReadOnlySpan<T> x, T y, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Multiply(x, y, z);
    public static void Multiply<T>(T x, ReadOnlySpan<T> y, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Multiply(y, x, z);

    public static void Divide<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Divide(x, y, z);
    public static void Divide<T>(ReadOnlySpan<T> x, T y, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Divide(x, y, z);
    public static void Divide<T>(T x, ReadOnlySpan<T> y, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Divide(x, y, z);

    public static void Negate<T>(ReadOnlySpan<T> x, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Negate(x, z);
    public static void Square<T>(ReadOnlySpan<T> x, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Multiply(x, x, z);
    public static void Exp<T>(ReadOnlySpan<T> x, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Exp(x, z);
    public static void Log<T>(ReadOnlySpan<T> x, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Log(x, z);
    public static void Sqrt<T>(ReadOnlySpan<T> x, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Sqrt(x, z);
    public static void Abs<T>(ReadOnlySpan<T> x, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Abs(x, z);

    /// <summary>z = x^c. Integer exponents 1, 2 and 3 (the spiral's cube) are products, exact to one rounding per
    /// multiply like the scalar <c>x * x * x</c>; other exponents use TensorPrimitives.Pow.</summary>
    public static void Pow<T>(ReadOnlySpan<T> x, T c, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (c == T.One) x.CopyTo(z);
        else if (c == T.CreateTruncating(2)) TensorPrimitives.Multiply(x, x, z);
        else if (c == T.CreateTruncating(3)) Cube(x, z);
        else TensorPrimitives.Pow(x, c, z);
    }

    private static void Cube<T>(ReadOnlySpan<T> x, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, x.Length, z.Length);
        var vx = MemoryMarshal.Cast<T, Vector<T>>(x);
        var vz = MemoryMarshal.Cast<T, Vector<T>>(z[..x.Length]);
        for (int i = 0; i < vx.Length; i++) vz[i] = vx[i] * vx[i] * vx[i];
        for (int i = vx.Length * Vector<T>.Count; i < x.Length; i++) z[i] = x[i] * x[i] * x[i];
    }

    // ---- accumulating forms for reverse sweeps: acc += … ----

    /// <summary>acc += g.</summary>
    public static void AddTo<T>(ReadOnlySpan<T> g, Span<T> acc) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Add(acc, g, acc);

    /// <summary>acc −= g.</summary>
    public static void SubtractFrom<T>(ReadOnlySpan<T> g, Span<T> acc) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Subtract(acc, g, acc);

    /// <summary>acc += g·y (rounded as the scalar <c>acc + g * y</c>: not fused).</summary>
    public static void MultiplyAddTo<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> y, Span<T> acc) where T : unmanaged, IFloatingPointIeee754<T> =>
        TensorPrimitives.MultiplyAdd(g, y, acc, acc);

    /// <summary>acc += g·s.</summary>
    public static void MultiplyAddTo<T>(ReadOnlySpan<T> g, T s, Span<T> acc) where T : unmanaged, IFloatingPointIeee754<T> =>
        TensorPrimitives.MultiplyAdd(g, s, acc, acc);

    /// <summary>acc += g / y.</summary>
    public static void DivideAddTo<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> y, Span<T> acc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(g.Length, y.Length, acc.Length);
        var vg = MemoryMarshal.Cast<T, Vector<T>>(g);
        var vy = MemoryMarshal.Cast<T, Vector<T>>(y[..g.Length]);
        var va = MemoryMarshal.Cast<T, Vector<T>>(acc[..g.Length]);
        for (int i = 0; i < vg.Length; i++) va[i] += vg[i] / vy[i];
        for (int i = vg.Length * Vector<T>.Count; i < g.Length; i++) acc[i] += g[i] / y[i];
    }

    /// <summary>Σ g, for the gradient of a scalar broadcast over a block.</summary>
    public static T Sum<T>(ReadOnlySpan<T> g) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Sum(g);

    /// <summary>Σ g·y, for the gradient of a scalar factor broadcast over a block.</summary>
    public static T Dot<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Dot(g, y);

    /// <summary>
    /// The chain rule through z = x^c: z' = c·x^(c−1)·g, written (<paramref name="accumulate"/> false) or added
    /// into <paramref name="dst"/>. Exponents 2 and 3 avoid Pow.
    /// </summary>
    public static void PowBackward<T>(ReadOnlySpan<T> x, T c, ReadOnlySpan<T> g, Span<T> dst, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, g.Length, dst.Length);
        if (c == T.CreateTruncating(2) || c == T.CreateTruncating(3))
        {
            bool cube = c == T.CreateTruncating(3);
            var vx = MemoryMarshal.Cast<T, Vector<T>>(x);
            var vg = MemoryMarshal.Cast<T, Vector<T>>(g[..x.Length]);
            var vd = MemoryMarshal.Cast<T, Vector<T>>(dst[..x.Length]);
            var vc = new Vector<T>(c);
            for (int i = 0; i < vx.Length; i++)
            {
                var slope = cube ? vc * (vx[i] * vx[i]) : vc * vx[i];
                vd[i] = accumulate ? vd[i] + slope * vg[i] : slope * vg[i];
            }
            for (int i = vx.Length * Vector<T>.Count; i < x.Length; i++)
            {
                T slope = cube ? c * (x[i] * x[i]) : c * x[i];
                dst[i] = accumulate ? dst[i] + slope * g[i] : slope * g[i];
            }
            return;
        }
        T e = c - T.One;
        for (int i = 0; i < x.Length; i++)
        {
            T d = c * T.Pow(x[i], e) * g[i];
            dst[i] = accumulate ? dst[i] + d : d;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Check(int n, int other, int dst)
    {
        if (other != n || dst < n)
            throw new ArgumentException($"Element-wise kernels need equal lengths; got {n}, {other} and a destination of {dst}.");
    }
}
