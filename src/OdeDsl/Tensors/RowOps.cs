using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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
        int width = Vector<T>.Count;
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T vr = ref MemoryMarshal.GetReference(v);
        ref T yr = ref MemoryMarshal.GetReference(y);
        // Rows as wide as a vector: whole vectors of each row, then its tail. Narrow rows (the 50 → 2 layer): a flat
        // loop beats a vector step per row. Extents were checked above, so the unchecked loads stay in bounds.
        int body = Vector.IsHardwareAccelerated && cols >= width ? cols - cols % width : 0;
        for (int i = 0; i < rows; i++)
        {
            nuint o = (nuint)i * (nuint)cols;
            for (int j = 0; j < body; j += width)
                Vector.StoreUnsafe(Vector.LoadUnsafe(ref xr, o + (nuint)j) + Vector.LoadUnsafe(ref vr, (nuint)j), ref yr, o + (nuint)j);
            for (int j = body; j < cols; j++)
                Unsafe.Add(ref yr, o + (nuint)j) = Unsafe.Add(ref xr, o + (nuint)j) + Unsafe.Add(ref vr, j);
        }
    }

    /// <summary>sum[j] += Σ_i x[i, j] (ACCUMULATED: a bias gradient over the batch), rows added in order.</summary>
    public static void AccumulateColumnSums<T>(int rows, int cols, ReadOnlySpan<T> x, Span<T> sum)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(rows, cols, x.Length, sum.Length, rows * cols);
        int width = Vector<T>.Count;
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T sr = ref MemoryMarshal.GetReference(sum);
        int body = Vector.IsHardwareAccelerated && cols >= width ? cols - cols % width : 0;
        // A strip of columns stays in a register while the rows stream past.
        for (int j = 0; j < body; j += width)
        {
            var acc = Vector.LoadUnsafe(ref sr, (nuint)j);
            for (int i = 0; i < rows; i++) acc += Vector.LoadUnsafe(ref xr, (nuint)i * (nuint)cols + (nuint)j);
            Vector.StoreUnsafe(acc, ref sr, (nuint)j);
        }
        for (int j = body; j < cols; j++)
        {
            T acc = Unsafe.Add(ref sr, j);
            for (int i = 0; i < rows; i++) acc += Unsafe.Add(ref xr, (nuint)i * (nuint)cols + (nuint)j);
            Unsafe.Add(ref sr, j) = acc;
        }
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
