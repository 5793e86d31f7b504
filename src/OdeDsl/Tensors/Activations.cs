using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace OdeDsl.Tensors;

/// <summary>
/// Element-wise activations over spans and their backward rules, expressed with the output where that is
/// cheaper (tanh′ = 1 − y², σ′ = y(1 − y)). Forward calls use TensorPrimitives' SIMD kernels.
/// In-place use (x and y the same span) is allowed.
/// </summary>
public static class Activations
{
    /// <summary>y = tanh(x). float and double use <see cref="FastTanh512"/> where Vector512 is accelerated, else
    /// <see cref="FastTanh"/> where Vector256 is (the same lane-wise maths, a few ulps); other types, and machines
    /// without either, use TensorPrimitives. <see cref="FastTanhBits"/> folds to a JIT-time constant, so only one
    /// branch is compiled.</summary>
    public static void Tanh<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && FastTanhBits == 512)
            FastTanh512.Apply(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(y));
        else if (typeof(T) == typeof(double) && FastTanhBits == 512)
            FastTanh512.Apply(MemoryMarshal.Cast<T, double>(x), MemoryMarshal.Cast<T, double>(y));
        else if (typeof(T) == typeof(float) && FastTanhBits == 256)
            FastTanh.Apply(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(y));
        else if (typeof(T) == typeof(double) && FastTanhBits == 256)
            FastTanh.Apply(MemoryMarshal.Cast<T, double>(x), MemoryMarshal.Cast<T, double>(y));
        else
            TensorPrimitives.Tanh(x, y);
    }

    /// <summary>The vector width, in bits, of the float/double tanh kernel <see cref="Tanh{T}"/> uses (0: none, so
    /// TensorPrimitives); internal so that tests can check which kernel this machine runs.</summary>
    internal static int FastTanhBits => FastTanh512.IsSupported ? 512 : FastTanh.IsSupported ? 256 : 0;

    public static void Sigmoid<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
        => TensorPrimitives.Sigmoid(x, y);

    public static void Relu<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (BatchSplit<T>.ShouldSplit(2, x.Length) && y.Length >= x.Length) BatchSplit<T>.Relu(x, y);
        else TensorPrimitives.Max(x, T.Zero, y);
    }

    /// <summary>gradX = gradY·(1 − y²) where y = tanh(x).</summary>
    public static void TanhBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> gradY, Span<T> gradX)
        where T : unmanaged, IFloatingPointIeee754<T> => TanhBackward(y, gradY, gradX, accumulate: false);

    /// <summary>gradX += gradY·(1 − y²) where y = tanh(x): the reverse sweep's accumulating form.</summary>
    public static void TanhBackwardAdd<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> gradY, Span<T> gradX)
        where T : unmanaged, IFloatingPointIeee754<T> => TanhBackward(y, gradY, gradX, accumulate: true);

    // Vector<T> stays 256 bits wide on AVX-512 machines unless DOTNET_MaxVectorTBitWidth says otherwise, so the
    // Vector512 loop is spelled out; it computes the same lane-wise expression, so results do not depend on the width.
    // The accumulate test sits outside the loops: inside, the JIT kept reloading the flag from the stack each iteration.
    private static void TanhBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> gradY, Span<T> gradX, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(y.Length, gradY.Length, gradX.Length);
        int done;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            var vy = MemoryMarshal.Cast<T, Vector512<T>>(y);
            var vg = MemoryMarshal.Cast<T, Vector512<T>>(gradY);
            var vx = MemoryMarshal.Cast<T, Vector512<T>>(gradX);
            if (accumulate)
                for (int i = 0; i < vy.Length; i++) vx[i] += vg[i] * (Vector512<T>.One - vy[i] * vy[i]);
            else
                for (int i = 0; i < vy.Length; i++) vx[i] = vg[i] * (Vector512<T>.One - vy[i] * vy[i]);
            done = vy.Length * Vector512<T>.Count;
        }
        else
        {
            var vy = MemoryMarshal.Cast<T, Vector<T>>(y);
            var vg = MemoryMarshal.Cast<T, Vector<T>>(gradY);
            var vx = MemoryMarshal.Cast<T, Vector<T>>(gradX);
            if (accumulate)
                for (int i = 0; i < vy.Length; i++) vx[i] += vg[i] * (Vector<T>.One - vy[i] * vy[i]);
            else
                for (int i = 0; i < vy.Length; i++) vx[i] = vg[i] * (Vector<T>.One - vy[i] * vy[i]);
            done = vy.Length * Vector<T>.Count;
        }
        for (int i = done; i < y.Length; i++)
        {
            T d = gradY[i] * (T.One - y[i] * y[i]);
            gradX[i] = accumulate ? gradX[i] + d : d;
        }
    }

    /// <summary>gradX = gradY·y·(1 − y) where y = σ(x).</summary>
    public static void SigmoidBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> gradY, Span<T> gradX)
        where T : unmanaged, IFloatingPointIeee754<T> => SigmoidBackward(y, gradY, gradX, accumulate: false);

    /// <summary>gradX += gradY·y·(1 − y) where y = σ(x).</summary>
    public static void SigmoidBackwardAdd<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> gradY, Span<T> gradX)
        where T : unmanaged, IFloatingPointIeee754<T> => SigmoidBackward(y, gradY, gradX, accumulate: true);

    // As TanhBackward: the accumulate test outside the loops, a Vector512 loop where accelerated (the same lane-wise
    // expression as the Vector<T> loop and the scalar tail, so results do not depend on the width).
    private static void SigmoidBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> gradY, Span<T> gradX, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(y.Length, gradY.Length, gradX.Length);
        int done;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            var vy = MemoryMarshal.Cast<T, Vector512<T>>(y);
            var vg = MemoryMarshal.Cast<T, Vector512<T>>(gradY);
            var vx = MemoryMarshal.Cast<T, Vector512<T>>(gradX);
            if (accumulate)
                for (int i = 0; i < vy.Length; i++) vx[i] += vg[i] * vy[i] * (Vector512<T>.One - vy[i]);
            else
                for (int i = 0; i < vy.Length; i++) vx[i] = vg[i] * vy[i] * (Vector512<T>.One - vy[i]);
            done = vy.Length * Vector512<T>.Count;
        }
        else
        {
            var vy = MemoryMarshal.Cast<T, Vector<T>>(y);
            var vg = MemoryMarshal.Cast<T, Vector<T>>(gradY);
            var vx = MemoryMarshal.Cast<T, Vector<T>>(gradX);
            if (accumulate)
                for (int i = 0; i < vy.Length; i++) vx[i] += vg[i] * vy[i] * (Vector<T>.One - vy[i]);
            else
                for (int i = 0; i < vy.Length; i++) vx[i] = vg[i] * vy[i] * (Vector<T>.One - vy[i]);
            done = vy.Length * Vector<T>.Count;
        }
        for (int i = done; i < y.Length; i++)
        {
            T d = gradY[i] * y[i] * (T.One - y[i]);
            gradX[i] = accumulate ? gradX[i] + d : d;
        }
    }

    /// <summary>gradX = gradY where x &gt; 0, else 0 (the subgradient 0 at x = 0, as PyTorch).</summary>
    public static void ReluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> gradY, Span<T> gradX)
        where T : unmanaged, IFloatingPointIeee754<T> => ReluBackward(x, gradY, gradX, accumulate: false);

    /// <summary>gradX += gradY where x &gt; 0.</summary>
    public static void ReluBackwardAdd<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> gradY, Span<T> gradX)
        where T : unmanaged, IFloatingPointIeee754<T> => ReluBackward(x, gradY, gradX, accumulate: true);

    private static void ReluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> gradY, Span<T> gradX, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, gradY.Length, gradX.Length);
        if (BatchSplit<T>.ShouldSplit(2, x.Length)) BatchSplit<T>.ReluBackward(x, gradY, gradX, accumulate);
        else ReluBackwardRange(x, gradY, gradX, accumulate);
    }

    /// <summary><see cref="ReluBackward{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T})"/> on one thread (lengths checked).</summary>
    internal static void ReluBackwardRange<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> gradY, Span<T> gradX, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int done;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            var vx = MemoryMarshal.Cast<T, Vector512<T>>(x);
            var vg = MemoryMarshal.Cast<T, Vector512<T>>(gradY);
            var vd = MemoryMarshal.Cast<T, Vector512<T>>(gradX);
            if (accumulate)
                for (int i = 0; i < vx.Length; i++) vd[i] += Vector512.ConditionalSelect(Vector512.GreaterThan(vx[i], Vector512<T>.Zero), vg[i], Vector512<T>.Zero);
            else
                for (int i = 0; i < vx.Length; i++) vd[i] = Vector512.ConditionalSelect(Vector512.GreaterThan(vx[i], Vector512<T>.Zero), vg[i], Vector512<T>.Zero);
            done = vx.Length * Vector512<T>.Count;
        }
        else
        {
            var vx = MemoryMarshal.Cast<T, Vector<T>>(x);
            var vg = MemoryMarshal.Cast<T, Vector<T>>(gradY);
            var vd = MemoryMarshal.Cast<T, Vector<T>>(gradX);
            if (accumulate)
                for (int i = 0; i < vx.Length; i++) vd[i] += Vector.ConditionalSelect(Vector.GreaterThan(vx[i], Vector<T>.Zero), vg[i], Vector<T>.Zero);
            else
                for (int i = 0; i < vx.Length; i++) vd[i] = Vector.ConditionalSelect(Vector.GreaterThan(vx[i], Vector<T>.Zero), vg[i], Vector<T>.Zero);
            done = vx.Length * Vector<T>.Count;
        }
        for (int i = done; i < x.Length; i++)
        {
            T d = x[i] > T.Zero ? gradY[i] : T.Zero;
            gradX[i] = accumulate ? gradX[i] + d : d;
        }
    }

    private static void Check(int input, int gradY, int gradX)
    {
        if (gradY != input || gradX != input)
            throw new ArgumentException($"Activation backward needs equal lengths; got {input}, gradY {gradY}, gradX {gradX}.");
    }
}
