using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace OdeDsl.Tensors;

/// <summary>
/// A bias add fused into the activation that reads it: y[i, :] = F(x[i, :] + v) over a [rows, cols] row-major block,
/// for the activations whose derivative needs only their output (tanh, σ, exp), so that the sum itself is never
/// stored. Each result is bit-identical to <see cref="RowOps.AddRowVector{T}(int, int, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T})"/>
/// followed by the unfused kernel (<see cref="Activations.Tanh{T}"/>, <see cref="Activations.Sigmoid{T}"/>,
/// <see cref="Elementwise.Exp{T}"/>) writing y: the add is the same IEEE operation and the activation the same
/// function. Only tanh on float/double with FastTanh(512) is fused into one pass; the others are the pair itself (see
/// <see cref="WholeBlock{T}"/>). y may be x itself (exactly, not a shifted overlap). Nothing is allocated.
/// </summary>
public static class BiasActivations
{
    /// <summary>y[i, :] = tanh(x[i, :] + v). float and double on the FastTanh512 / FastTanh lanes where
    /// <see cref="Activations.Tanh{T}"/> uses them (the add in a register, one store); otherwise AddRowVector into y
    /// and TensorPrimitives.Tanh in place, as Activations.Tanh does there.</summary>
    public static void Tanh<T>(int rows, int cols, ReadOnlySpan<T> x, ReadOnlySpan<T> v, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(rows, cols, x.Length, v.Length, y.Length);
        Tanh(Activations.FastTanhBits, rows, cols, x, v, y);
    }

    /// <summary>y[i, :] = σ(x[i, :] + v): AddRowVector into y, then Activations.Sigmoid in place (see
    /// <see cref="WholeBlock{T}"/> for why no finer fusion).</summary>
    public static void Sigmoid<T>(int rows, int cols, ReadOnlySpan<T> x, ReadOnlySpan<T> v, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(rows, cols, x.Length, v.Length, y.Length);
        WholeBlock(Kind.Sigmoid, rows, cols, x, v, y);
    }

    /// <summary>y[i, :] = exp(x[i, :] + v), as <see cref="Sigmoid{T}"/>: AddRowVector into y, then Elementwise.Exp in place.</summary>
    public static void Exp<T>(int rows, int cols, ReadOnlySpan<T> x, ReadOnlySpan<T> v, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(rows, cols, x.Length, v.Length, y.Length);
        WholeBlock(Kind.Exp, rows, cols, x, v, y);
    }

    /// <summary>
    /// <see cref="Tanh{T}(int, int, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T})"/> with the lane width chosen by the
    /// caller (512, 256, or 0 for the TensorPrimitives path), after the checks; internal so that tests run every width.
    /// </summary>
    internal static void Tanh<T>(int bits, int rows, int cols, ReadOnlySpan<T> x, ReadOnlySpan<T> v, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (rows == 0 || cols == 0) return;
        bool fast = typeof(T) == typeof(float) || typeof(T) == typeof(double);
        if (fast && bits == 512) Tanh512(rows, cols, x, v, y);
        else if (fast && bits == 256) Tanh256(rows, cols, x, v, y);
        else WholeBlock(Kind.Tanh, rows, cols, x, v, y);
    }

    // Each row: whole vectors from column 0, the add in a register, tanh, one store (loaded before stored, so in place
    // is safe). The row's last cols mod L elements (all of it when cols < L) are summed by the same scalar IEEE add
    // into a stack vector shared by consecutive rows and run through tanh when it is full, then written back: one
    // extra vector per L such elements instead of an overlapping vector per row (which would cost a whole tanh per
    // row). Each lane of the tanh is independent of the others, so where an element sits does not change its bits.
    private static void Tanh512<T>(int rows, int cols, ReadOnlySpan<T> x, ReadOnlySpan<T> v, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lanes = Vector512<T>.Count, rest = cols % lanes, full = cols - rest;
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T vr = ref MemoryMarshal.GetReference(v);
        ref T yr = ref MemoryMarshal.GetReference(y);
        Span<T> pending = stackalloc T[Vector512<T>.Count];
        Span<int> where = stackalloc int[Vector512<T>.Count];
        pending.Clear();
        int count = 0;
        for (int i = 0; i < rows; i++)
        {
            int o = i * cols;
            for (int j = 0; j < full; j += lanes)
                Lane512(Vector512.LoadUnsafe(ref xr, (nuint)(o + j)) + Vector512.LoadUnsafe(ref vr, (nuint)j)).StoreUnsafe(ref yr, (nuint)(o + j));
            if (rest == 0) continue;
            if (count + rest > lanes) { Flush512(pending, where, count, y); count = 0; }
            for (int j = full; j < cols; j++, count++)
            {
                pending[count] = Unsafe.Add(ref xr, o + j) + Unsafe.Add(ref vr, j);
                where[count] = o + j;
            }
        }
        if (count > 0) Flush512(pending, where, count, y);
    }

    private static void Flush512<T>(Span<T> pending, Span<int> where, int count, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Lane512(Vector512.Create((ReadOnlySpan<T>)pending)).CopyTo(pending);
        for (int k = 0; k < count; k++) y[where[k]] = pending[k];
    }

    private static void Tanh256<T>(int rows, int cols, ReadOnlySpan<T> x, ReadOnlySpan<T> v, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lanes = Vector256<T>.Count, rest = cols % lanes, full = cols - rest;
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T vr = ref MemoryMarshal.GetReference(v);
        ref T yr = ref MemoryMarshal.GetReference(y);
        Span<T> pending = stackalloc T[Vector256<T>.Count];
        Span<int> where = stackalloc int[Vector256<T>.Count];
        pending.Clear();
        int count = 0;
        for (int i = 0; i < rows; i++)
        {
            int o = i * cols;
            for (int j = 0; j < full; j += lanes)
                Lane256(Vector256.LoadUnsafe(ref xr, (nuint)(o + j)) + Vector256.LoadUnsafe(ref vr, (nuint)j)).StoreUnsafe(ref yr, (nuint)(o + j));
            if (rest == 0) continue;
            if (count + rest > lanes) { Flush256(pending, where, count, y); count = 0; }
            for (int j = full; j < cols; j++, count++)
            {
                pending[count] = Unsafe.Add(ref xr, o + j) + Unsafe.Add(ref vr, j);
                where[count] = o + j;
            }
        }
        if (count > 0) Flush256(pending, where, count, y);
    }

    private static void Flush256<T>(Span<T> pending, Span<int> where, int count, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Lane256(Vector256.Create((ReadOnlySpan<T>)pending)).CopyTo(pending);
        for (int k = 0; k < count; k++) y[where[k]] = pending[k];
    }

    // the FastTanh512 / FastTanh lane functions themselves; the type tests fold at JIT time
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Lane512<T>(Vector512<T> x) where T : unmanaged, IFloatingPointIeee754<T> =>
        typeof(T) == typeof(float) ? FastTanh512.Tanh(x.AsSingle()).As<float, T>() : FastTanh512.Tanh(x.AsDouble()).As<double, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Lane256<T>(Vector256<T> x) where T : unmanaged, IFloatingPointIeee754<T> =>
        typeof(T) == typeof(float) ? FastTanh.Tanh(x.AsSingle()).As<float, T>() : FastTanh.Tanh(x.AsDouble()).As<double, T>();

    private enum Kind { Tanh, Sigmoid, Exp }

    /// <summary>
    /// The TensorPrimitives-based kernels: AddRowVector into y, then the kernel over the whole block in place, i.e.
    /// exactly the unfused pair with y as the destination of both. Not fused further, and not split into cache-sized
    /// chunks, because TensorPrimitives' results are not a pure function of each lane: its double exp (under tanh, σ
    /// and exp) computes a whole vector on a slower, different path when any lane is out of range, so how elements
    /// are grouped into vectors (set by the call's length and the destination's alignment) can change the last bit of
    /// the neighbours (seen in BiasActivationsTests at 1×65 doubles before this was the whole-block call).
    /// </summary>
    private static void WholeBlock<T>(Kind kind, int rows, int cols, ReadOnlySpan<T> x, ReadOnlySpan<T> v, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (rows == 0 || cols == 0) return;
        var block = y.Slice(0, rows * cols);
        RowOps.AddRowVector(rows, cols, x, v, block);
        switch (kind)
        {
            case Kind.Tanh: TensorPrimitives.Tanh<T>(block, block); break;
            case Kind.Sigmoid: Activations.Sigmoid<T>(block, block); break;
            default: Elementwise.Exp<T>(block, block); break;
        }
    }

    private static void Check(int rows, int cols, int xLength, int vLength, int yLength)
    {
        if (rows < 0 || cols < 0) throw new ArgumentOutOfRangeException(nameof(rows), $"rows ({rows}) and cols ({cols}) must be non-negative.");
        long n = (long)rows * cols;
        if (xLength < n || yLength < n)
            throw new ArgumentException($"A {rows}×{cols} block needs {n} elements; got {xLength} and {yLength}.");
        if (vLength < cols) throw new ArgumentException($"The row vector has {vLength} elements but the block has {cols} columns.");
    }
}
