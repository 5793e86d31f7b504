using OdeDsl;
using OdeDsl.Flows;
using OdeDsl.Training;
using OdeDsl.Training.Distributed;

namespace Cnf;

/// <summary>Every rank stopped training (a non-finite loss on some rank, or a fault): Program returns <see cref="ExitCode"/>.</summary>
public sealed class TrainingStoppedException(int exitCode) : Exception($"Distributed training stopped (exit code {exitCode}).")
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>
/// --distributed for the CNF training loops (density, mle, toy): every rank draws the same global batch from the same RNG,
/// differentiates only its <see cref="ProcessGroup.Shard(int)"/> rows, and the ranks' gradients of their summed losses
/// are summed in rank order and scaled by 1/B (docs/distributed.md). Hutchinson noise is drawn per global row, so a
/// row gets the same ε whatever the split.
/// </summary>
public static class DataParallelFlow
{
    /// <summary>Runs <paramref name="train"/> under <see cref="DataParallel{T}.RunGuarded"/>; a stop on every rank becomes a <see cref="TrainingStoppedException"/>.</summary>
    public static void Guarded(DataParallel<float>? parallel, Action train)
    {
        if (parallel is null) { train(); return; }
        int code = parallel.RunGuarded(() => { train(); return 0; });
        if (code != 0) throw new TrainingStoppedException(code);
    }

    /// <summary>A flow loss (mean over <c>rows</c>) writing its θ-gradient: NegativeLogLikelihood or ReverseKl.</summary>
    public delegate FlowStep FlowLoss(ReadOnlySpan<float> rows, Span<float> gradTheta, ref Rng rng);

    /// <summary>
    /// This rank's part of one step on the global batch <paramref name="x"/> ([B, d], the same on every rank): writes
    /// the θ-gradient of the shard's summed loss into <paramref name="gradTheta"/> and returns the shard's step and row
    /// count. <paramref name="rng"/> advances exactly as in the one-process call on all of x (Hutchinson noise is drawn
    /// per row, in row order). The caller adds any extra gradient entries, then calls
    /// <see cref="DataParallel{T}.ReduceGradients"/> with scale 1/B.
    /// </summary>
    public static (FlowStep Step, int Count) Shard(TraceEstimator trace, DataParallel<float> parallel, float[] x, int dimension,
        Span<float> gradTheta, FlowLoss loss, ref Rng rng)
    {
        int batch = x.Length / dimension;
        var (start, count) = parallel.Shard(batch);
        var local = rng;
        SkipNoise(ref local, trace, start * dimension);  // the noise of the rows before this shard's
        var step = loss(x.AsSpan(start * dimension, count * dimension), gradTheta, ref local);
        SkipNoise(ref rng, trace, batch * dimension);     // what the whole batch's InitialStates draws
        foreach (ref float g in gradTheta) g *= count;    // mean over the shard → sum over the shard
        return (step, count);
    }

    /// <summary>Advances the RNG past <paramref name="draws"/> Hutchinson values (ContinuousFlow draws one per row and dimension).</summary>
    private static void SkipNoise(ref Rng rng, TraceEstimator trace, int draws)
    {
        for (int i = 0; i < draws; i++)
        {
            if (trace == TraceEstimator.Gaussian) rng.NextGaussian();
            else if (trace == TraceEstimator.Rademacher) rng.NextUInt64();
            else return; // exact trace: no noise
        }
    }
}
