using System.Numerics;
using System.Numerics.Tensors;

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
        if (cols < 8)
        {
            // Narrow rows (the 50 → 2 layer): a flat loop beats a vector call per row.
            for (int i = 0, o = 0; i < rows; i++)
                for (int j = 0; j < cols; j++, o++) y[o] = x[o] + v[j];
            return;
        }
        for (int i = 0; i < rows; i++) TensorPrimitives.Add(x.Slice(i * cols, cols), v[..cols], y.Slice(i * cols, cols));
    }

    /// <summary>sum[j] += Σ_i x[i, j] (ACCUMULATED: a bias gradient over the batch).</summary>
    public static void AccumulateColumnSums<T>(int rows, int cols, ReadOnlySpan<T> x, Span<T> sum)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(rows, cols, x.Length, sum.Length, rows * cols);
        if (cols < 8)
        {
            for (int i = 0, o = 0; i < rows; i++)
                for (int j = 0; j < cols; j++, o++) sum[j] += x[o];
            return;
        }
        var s = sum[..cols];
        for (int i = 0; i < rows; i++) TensorPrimitives.Add(s, x.Slice(i * cols, cols), s);
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
