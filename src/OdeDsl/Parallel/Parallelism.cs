namespace OdeDsl;

/// <summary>
/// How many cores the kernels use: the two-way splits of large GEMMs, chunked batch evaluation and lockstep outputs
/// (<see cref="TwoThreadLoop"/>) use the calling thread and at most one pool thread, so the choice is 1 or 2.
/// Set it before solving (a process-wide switch; examples expose it as <c>--threads</c>).
/// </summary>
public static class Parallelism
{
    public static int MaxThreads
    {
        get => TwoThreadLoop.Enabled ? 2 : 1;
        set
        {
            if (value is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(value), value, "OdeDsl's kernels use 1 or 2 threads.");
            TwoThreadLoop.Enabled = value == 2;
            Tensors.GemmParallel.Enabled = value == 2;
        }
    }
}
