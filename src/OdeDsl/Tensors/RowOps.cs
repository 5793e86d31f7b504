using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace OdeDsl.Tensors;

/// <summary>
/// Broadcasts between a [rows, cols] row-major block and one row vector: a Linear layer's bias add and its
/// gradient (the column sums), in one call per batch instead of one per sample.
/// </summary>
public static class RowOps
{
    /// <summary>y[i, :] = x[i, :] + v for every row (y may alias x).</summary>
    public static void AddRowVector<T>(int rows, int cols, ReadOnlySpan<T> x, ReadOnlySpan<T> v, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(rows, cols, x.Length, v.Length, y.Length);
        if (rows == 0 || cols == 0) return;
        bool wide = Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported;
        bool vector = Vector.IsHardwareAccelerated && Vector<T>.IsSupported; // not for Half
        AddRowVector(wide ? 512 : vector ? Vector<T>.Count * Unsafe.SizeOf<T>() * 8 : 0, rows, cols, x, v, y);
    }

    /// <summary>
    /// <see cref="AddRowVector{T}(int, int, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T})"/> on Vector512 (bits = 512),
    /// Vector&lt;T&gt; (bits = its width) or scalar (0), after the checks; internal so that tests run every width.
    /// Rows at least one vector wide: whole vectors, the last one ending at the row's end (overlapping), loaded before
    /// the others are stored so that in-place use reads the original row. Rows narrower than a vector whose width
    /// divides the vector's (the 50 → 2 layer's 2): the block as one flat array plus a vector holding v repeated, the
    /// last vector again ending at the block's end. Other narrow rows: a scalar loop. All exact (one add each).
    /// </summary>
    internal static void AddRowVector<T>(int bits, int rows, int cols, ReadOnlySpan<T> x, ReadOnlySpan<T> v, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T vr = ref MemoryMarshal.GetReference(v);
        ref T yr = ref MemoryMarshal.GetReference(y);
        int lanes = bits / (8 * Unsafe.SizeOf<T>());
        if (bits == 512 && cols >= lanes) { Rows512(rows, cols, ref xr, ref vr, ref yr); return; }
        if (bits == 512 && lanes % cols == 0 && rows * cols >= lanes) { Flat512(rows * cols, cols, ref xr, ref vr, ref yr); return; }
        if (bits != 0 && bits != 512 && lanes == Vector<T>.Count)
        {
            if (cols >= lanes) { RowsVector(rows, cols, ref xr, ref vr, ref yr); return; }
            if (lanes % cols == 0 && rows * cols >= lanes) { FlatVector(rows * cols, cols, ref xr, ref vr, ref yr); return; }
        }
        for (int i = 0; i < rows; i++)
        {
            nuint o = (nuint)i * (nuint)cols;
            for (int j = 0; j < cols; j++)
                Unsafe.Add(ref yr, o + (nuint)j) = Unsafe.Add(ref xr, o + (nuint)j) + Unsafe.Add(ref vr, j);
        }
    }

    private static void Rows512<T>(int rows, int cols, ref T x, ref T v, ref T y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nuint width = (nuint)Vector512<T>.Count, last = (nuint)cols - width;
        var vLast = Vector512.LoadUnsafe(ref v, last);
        for (int i = 0; i < rows; i++)
        {
            nuint o = (nuint)i * (nuint)cols;
            var tail = Vector512.LoadUnsafe(ref x, o + last) + vLast;
            for (nuint j = 0; j < last; j += width)
                (Vector512.LoadUnsafe(ref x, o + j) + Vector512.LoadUnsafe(ref v, j)).StoreUnsafe(ref y, o + j);
            tail.StoreUnsafe(ref y, o + last);
        }
    }

    private static void RowsVector<T>(int rows, int cols, ref T x, ref T v, ref T y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nuint width = (nuint)Vector<T>.Count, last = (nuint)cols - width;
        var vLast = Vector.LoadUnsafe(ref v, last);
        for (int i = 0; i < rows; i++)
        {
            nuint o = (nuint)i * (nuint)cols;
            var tail = Vector.LoadUnsafe(ref x, o + last) + vLast;
            for (nuint j = 0; j < last; j += width)
                Vector.StoreUnsafe(Vector.LoadUnsafe(ref x, o + j) + Vector.LoadUnsafe(ref v, j), ref y, o + j);
            Vector.StoreUnsafe(tail, ref y, o + last);
        }
    }

    // length ≥ one vector, cols divides the lane count: lane l of every vector starting at a multiple of cols adds v[l mod cols].
    private static void Flat512<T>(int length, int cols, ref T x, ref T v, ref T y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int width = Vector512<T>.Count;
        Span<T> pattern = stackalloc T[width];
        for (int l = 0; l < width; l++) pattern[l] = Unsafe.Add(ref v, l % cols);
        var vp = Vector512.Create<T>(pattern);
        nuint last = (nuint)(length - width); // a multiple of cols, as length and width are
        var tail = Vector512.LoadUnsafe(ref x, last) + vp;
        for (nuint o = 0; o < last; o += (nuint)width) (Vector512.LoadUnsafe(ref x, o) + vp).StoreUnsafe(ref y, o);
        tail.StoreUnsafe(ref y, last);
    }

    private static void FlatVector<T>(int length, int cols, ref T x, ref T v, ref T y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int width = Vector<T>.Count;
        Span<T> pattern = stackalloc T[width];
        for (int l = 0; l < width; l++) pattern[l] = Unsafe.Add(ref v, l % cols);
        var vp = new Vector<T>(pattern);
        nuint last = (nuint)(length - width);
        var tail = Vector.LoadUnsafe(ref x, last) + vp;
        for (nuint o = 0; o < last; o += (nuint)width) Vector.StoreUnsafe(Vector.LoadUnsafe(ref x, o) + vp, ref y, o);
        Vector.StoreUnsafe(tail, ref y, last);
    }

    /// <summary>sum[j] += Σ_i x[i, j] (ACCUMULATED: a bias gradient over the batch), rows added in order.</summary>
    /// <remarks>Every column is summed the same way on every path: s = sum[j], then s += x[i, j] for i = 0, 1, …,
    /// rows − 1. Columns are vectorised (Vector512 where accelerated, else Vector&lt;T&gt;, the last strip ending at
    /// the row's end and loaded before the others are stored), so no order changes with the width.</remarks>
    public static void AccumulateColumnSums<T>(int rows, int cols, ReadOnlySpan<T> x, Span<T> sum)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(rows, cols, x.Length, sum.Length, rows * cols);
        bool wide = Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported;
        AccumulateColumnSums(wide ? 512 : Vector.IsHardwareAccelerated ? Vector<T>.Count * Unsafe.SizeOf<T>() * 8 : 0, rows, cols, x, sum);
    }

    /// <summary><see cref="AccumulateColumnSums{T}(int, int, ReadOnlySpan{T}, Span{T})"/> on Vector512 (bits = 512),
    /// Vector&lt;T&gt; (its width) or scalar (0), after the checks; internal so that tests run every width.</summary>
    internal static void AccumulateColumnSums<T>(int bits, int rows, int cols, ReadOnlySpan<T> x, Span<T> sum)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T sr = ref MemoryMarshal.GetReference(sum);
        int lanes = bits / (8 * Unsafe.SizeOf<T>());
        if (rows == 0 || cols == 0) return;
        if (bits == 512 && cols >= lanes) { ColumnSums512(rows, cols, ref xr, ref sr); return; }
        if (bits != 0 && bits != 512 && lanes == Vector<T>.Count && cols >= lanes) { ColumnSumsVector(rows, cols, ref xr, ref sr); return; }
        if (cols == 2)
        {
            // Both columns' chains interleaved (each still in row order), so their add latencies overlap.
            T s0 = sr, s1 = Unsafe.Add(ref sr, 1);
            for (int i = 0; i < rows; i++)
            {
                s0 += Unsafe.Add(ref xr, 2 * (nuint)i);
                s1 += Unsafe.Add(ref xr, 2 * (nuint)i + 1);
            }
            sr = s0;
            Unsafe.Add(ref sr, 1) = s1;
            return;
        }
        for (int j = 0; j < cols; j++)
        {
            T acc = Unsafe.Add(ref sr, j);
            for (int i = 0; i < rows; i++) acc += Unsafe.Add(ref xr, (nuint)i * (nuint)cols + (nuint)j);
            Unsafe.Add(ref sr, j) = acc;
        }
    }

    private static void ColumnSums512<T>(int rows, int cols, ref T x, ref T sum) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nuint width = (nuint)Vector512<T>.Count, last = (nuint)cols - width, ld = (nuint)cols;
        var tail = Vector512.LoadUnsafe(ref sum, last);
        for (nuint i = 0; i < (nuint)rows; i++) tail += Vector512.LoadUnsafe(ref x, i * ld + last);
        for (nuint j = 0; j < last; j += width)
        {
            var acc = Vector512.LoadUnsafe(ref sum, j);
            for (nuint i = 0; i < (nuint)rows; i++) acc += Vector512.LoadUnsafe(ref x, i * ld + j);
            acc.StoreUnsafe(ref sum, j);
        }
        tail.StoreUnsafe(ref sum, last);
    }

    private static void ColumnSumsVector<T>(int rows, int cols, ref T x, ref T sum) where T : unmanaged, IFloatingPointIeee754<T>
    {
        nuint width = (nuint)Vector<T>.Count, last = (nuint)cols - width, ld = (nuint)cols;
        var tail = Vector.LoadUnsafe(ref sum, last);
        for (nuint i = 0; i < (nuint)rows; i++) tail += Vector.LoadUnsafe(ref x, i * ld + last);
        for (nuint j = 0; j < last; j += width)
        {
            var acc = Vector.LoadUnsafe(ref sum, j);
            for (nuint i = 0; i < (nuint)rows; i++) acc += Vector.LoadUnsafe(ref x, i * ld + j);
            Vector.StoreUnsafe(acc, ref sum, j);
        }
        Vector.StoreUnsafe(tail, ref sum, last);
    }

    /// <summary>
    /// dst[i·ldDst + j] = src[i·ldSrc + j] for a [rows, cols] window: one piece of a per-row concatenation. ldSrc may be
    /// 0 (the same row for every i: a θ vector or a constant laid into each row).
    /// </summary>
    public static void CopyBlock<T>(int rows, int cols, ReadOnlySpan<T> src, int ldSrc, Span<T> dst, int ldDst)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckStrided(rows, cols, src.Length, ldSrc, dst.Length, ldDst);
        if (cols >= NarrowColumns)
        {
            for (int i = 0; i < rows; i++) src.Slice(i * ldSrc, cols).CopyTo(dst.Slice(i * ldDst, cols));
            return;
        }
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) dst[i * ldDst + j] = src[i * ldSrc + j];
    }

    /// <summary>dst[i·ldDst + j] = value over a [rows, cols] window (a zero tangent piece).</summary>
    public static void FillBlock<T>(int rows, int cols, T value, Span<T> dst, int ldDst)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckStrided(rows, cols, -1, 0, dst.Length, ldDst);
        for (int i = 0; i < rows; i++) dst.Slice(i * ldDst, cols).Fill(value);
    }

    /// <summary>
    /// dst[i·ldDst + j] += src[i·ldSrc + j] (ACCUMULATED: a concatenation's adjoint handed back to one piece). ldDst may
    /// be 0: every row then adds into the same vector (a θ piece's gradient summed over the batch), in row order.
    /// </summary>
    public static void AddBlock<T>(int rows, int cols, ReadOnlySpan<T> src, int ldSrc, Span<T> dst, int ldDst)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckStrided(rows, cols, src.Length, ldSrc, dst.Length, ldDst);
        if (cols >= NarrowColumns)
        {
            for (int i = 0; i < rows; i++)
            {
                var d = dst.Slice(i * ldDst, cols);
                TensorPrimitives.Add(d, src.Slice(i * ldSrc, cols), d);
            }
            return;
        }
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) dst[i * ldDst + j] += src[i * ldSrc + j];
    }

    // Below this width a row is cheaper as a scalar loop than as a vector call.
    private const int NarrowColumns = 8;

    private static void CheckStrided(int rows, int cols, int srcLength, int ldSrc, int dstLength, int ldDst)
    {
        if (rows < 0 || cols < 0 || ldSrc < 0 || ldDst < 0)
            throw new ArgumentOutOfRangeException(nameof(rows), $"rows ({rows}), cols ({cols}) and strides ({ldSrc}, {ldDst}) must be non-negative.");
        if (rows == 0 || cols == 0) return;
        long needSrc = (long)(rows - 1) * ldSrc + cols, needDst = (long)(rows - 1) * ldDst + cols;
        if (srcLength >= 0 && srcLength < needSrc) // −1: no source
            throw new ArgumentException($"A {rows}×{cols} window with stride {ldSrc} needs {needSrc} source elements; got {srcLength}.");
        if (dstLength < needDst)
            throw new ArgumentException($"A {rows}×{cols} window with stride {ldDst} needs {needDst} destination elements; got {dstLength}.");
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
