using ILGPU;
using ILGPU.Runtime;

namespace OdeDsl.Gpu.Gradients;

/// <summary>
/// Σ over trajectories of a per-trajectory [P, N] array (dL/dθ of a θ shared by all trajectories), on the device in two
/// launches: thread (c, p) sums chunk c of row p in index order, then thread p sums its row's chunk sums in chunk order.
/// The order depends only on N, so the result repeats bit for bit on any device. Not ILGPU.Algorithms' reductions: on
/// ILGPU's CPU accelerator (the tests' device) the CNF field's adjoint (P = 4612, 3 trajectories) took 13–39 s with one
/// accelerator.Reduce per parameter and 5–31 s with one GroupExtensions.AllReduce per thread group and parameter (one
/// launch; the CPU accelerator emulates the group's barriers with OS threads), against 0.9–8 s with these two launches
/// (the kernel alone: 0.06–1.4 s), measured on the shared 2-core machine under a load average of about 45.
/// </summary>
internal static class RowSums
{
    /// <summary>Elements one thread sums in the first pass.</summary>
    private const int Chunk = 256;

    private static void Partial(Index1D index, ArrayView<double> rows, long n, int count, ArrayView<double> partial)
    {
        long c = index / count, p = index % count;
        long end = System.Math.Min(n, (c + 1) * Chunk);
        double acc = 0;
        for (long i = c * Chunk; i < end; i++) acc += rows[p * n + i];
        partial[index] = acc;
    }

    private static void Total(Index1D p, ArrayView<double> partial, int chunks, int count, ArrayView<double> sums)
    {
        double acc = 0;
        for (int c = 0; c < chunks; c++) acc += partial[(long)c * count + p];
        sums[p] = acc;
    }

    private static void PartialF32(Index1D index, ArrayView<float> rows, long n, int count, ArrayView<float> partial)
    {
        long c = index / count, p = index % count;
        long end = System.Math.Min(n, (c + 1) * Chunk);
        float acc = 0;
        for (long i = c * Chunk; i < end; i++) acc += rows[p * n + i];
        partial[index] = acc;
    }

    private static void TotalF32(Index1D p, ArrayView<float> partial, int chunks, int count, ArrayView<float> sums)
    {
        float acc = 0;
        for (int c = 0; c < chunks; c++) acc += partial[(long)c * count + p];
        sums[p] = acc;
    }

    /// <summary>The row sums of a [count, n] float array (summed in float), downloaded.</summary>
    public static float[] Float(Accelerator accelerator, ArrayView<float> rows, long n, int count)
    {
        if (count == 0) return [];
        int chunks = Chunks(n, count);
        using var partial = accelerator.Allocate1D<float>((long)chunks * count);
        using var sums = accelerator.Allocate1D<float>(count);
        accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, long, int, ArrayView<float>>(PartialF32)(chunks * count, rows, n, count, partial.View);
        accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, int, ArrayView<float>>(TotalF32)(count, partial.View, chunks, count, sums.View);
        accelerator.Synchronize();
        return sums.GetAsArray1D();
    }

    private static int Chunks(long n, int count)
    {
        long chunks = (n + Chunk - 1) / Chunk;
        if (chunks * count > int.MaxValue) throw new ArgumentException($"{count} rows of {n} trajectories: too many for one launch.", nameof(n));
        return (int)chunks;
    }

    /// <summary>The row sums Σ_i rows[p·n + i] of a [count, n] array, downloaded.</summary>
    public static double[] Double(Accelerator accelerator, ArrayView<double> rows, long n, int count)
    {
        if (count == 0) return [];
        int chunks = Chunks(n, count);
        using var partial = accelerator.Allocate1D<double>((long)chunks * count);
        using var sums = accelerator.Allocate1D<double>(count);
        accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<double>, long, int, ArrayView<double>>(Partial)(chunks * count, rows, n, count, partial.View);
        accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<double>, int, int, ArrayView<double>>(Total)(count, partial.View, chunks, count, sums.View);
        accelerator.Synchronize();
        return sums.GetAsArray1D();
    }
}
