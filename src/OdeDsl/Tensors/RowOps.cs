using System.Numerics;
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

    private static void Check(int rows, int cols, int xLength, int vLength, int yLength)
    {
        if (rows < 0 || cols < 0) throw new ArgumentOutOfRangeException(nameof(rows), $"rows ({rows}) and cols ({cols}) must be non-negative.");
        long n = (long)rows * cols;
        if (xLength < n || yLength < n)
            throw new ArgumentException($"A {rows}×{cols} block needs {n} elements; got {xLength} and {yLength}.");
        if (vLength < cols) throw new ArgumentException($"The row vector has {vLength} elements but the block has {cols} columns.");
    }
}
