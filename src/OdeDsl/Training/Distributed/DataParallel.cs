using System.Numerics;
using System.Runtime.InteropServices;

namespace OdeDsl.Training.Distributed;

/// <summary>How <see cref="DataParallel{T}.ReduceGradients"/> sums the ranks' gradients.</summary>
public enum GradientReduction
{
    /// <summary>
    /// Gather every rank's gradient (MPI_Allgather), then sum on every rank in rank order, g = ((g₀ + g₁) + g₂) + …:
    /// the order is fixed, so a run is bitwise reproducible for a given number of ranks and every rank holds the same
    /// bits. Moves Size × gradient bytes into each rank (vs about 2 × for a ring all-reduce): the default, and the right
    /// choice up to a few MB of gradient on a handful of hosts (docs/distributed.md has the numbers).
    /// </summary>
    RankOrder,

    /// <summary>MPI_Allreduce(MPI_SUM): less traffic at scale; the summation order is Open MPI's algorithm choice, so the
    /// result equals <see cref="RankOrder"/>'s to float rounding, not necessarily bit for bit.</summary>
    Allreduce,
}

/// <summary>
/// Data-parallel training over a <see cref="ProcessGroup"/>: each rank trains on its shard of every global batch,
/// gradients are summed over ranks and then scaled before the optimiser step, and state is broadcast from rank 0 at
/// start and on resume. Any training loop uses it in three places (docs/distributed.md):
/// <code>
/// dp.SynchronizeState(θ, optimizer, ref iteration, ref rng);           // after init / after rank 0 loaded a checkpoint
/// var (start, count) = dp.Shard(globalBatch);                          // this rank's rows of each global batch
/// dp.ReduceGradients(g, shardLossSum, step, scale: 1.0 / globalBatch); // g: gradient of the shard's summed loss
/// </code>
/// A non-finite loss or gradient on any rank stops every rank at the same step with a
/// <see cref="DistributedTrainingException"/> naming the rank and the step, before the update, so θ and the last
/// checkpoint stay as they were. The adjoint and backprop paths need no change: they produce the shard's gradient.
/// </summary>
public sealed class DataParallel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const double LossNotFinite = 1, GradientNotFinite = 2;
    private readonly double[] _status = new double[2], _allStatus;
    private readonly T[]? _gathered;

    public DataParallel(ProcessGroup group, int parameterCount, GradientReduction reduction = GradientReduction.RankOrder)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentOutOfRangeException.ThrowIfLessThan(parameterCount, 1);
        if (!Enum.IsDefined(reduction)) throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "Unknown gradient reduction.");
        Group = group;
        ParameterCount = parameterCount;
        Reduction = reduction;
        _allStatus = new double[2 * group.Size];
        if (reduction == GradientReduction.RankOrder && group.Size > 1) _gathered = new T[checked(parameterCount * group.Size)];
    }

    public ProcessGroup Group { get; }
    public int ParameterCount { get; }
    public GradientReduction Reduction { get; }

    /// <summary>The global step in progress, for messages: set by <see cref="SynchronizeState"/> and by
    /// <see cref="ReduceGradients"/> (its step while it runs, the next one after it returns).</summary>
    public long Step { get; private set; }

    /// <summary>Time spent in <see cref="ReduceGradients"/> so far (the collectives, including waiting for slower ranks,
    /// and the local sum), and the number of calls: the all-reduce cost per step is their ratio.</summary>
    public TimeSpan ReduceTime => TimeSpan.FromTicks(_reduceTicks * TimeSpan.TicksPerSecond / System.Diagnostics.Stopwatch.Frequency);

    public long Reductions { get; private set; }

    private long _reduceTicks;

    /// <summary>Bytes this rank sends per <see cref="ReduceGradients"/> (status plus gradient).</summary>
    public long BytesSentPerStep => 16 + (long)ParameterCount * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();

    /// <summary>This rank's rows of a global batch (see <see cref="ProcessGroup.Shard(int)"/>).</summary>
    public (int Start, int Count) Shard(int globalBatch) => Group.Shard(globalBatch);

    /// <summary>
    /// Makes every rank hold rank 0's θ, optimiser state (moments, step count, learning rate), iteration and RNG state:
    /// call it once after initialisation and after rank 0 has loaded a checkpoint (other hosts need not see the file).
    /// </summary>
    public void SynchronizeState(Span<T> parameters, Optimizer<T> optimizer, ref long iteration, ref Rng rng)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (parameters.Length != ParameterCount || optimizer.ParameterCount != ParameterCount)
            throw new ArgumentException($"DataParallel was created for {ParameterCount} parameters; θ has {parameters.Length} and the optimiser {optimizer.ParameterCount}.", nameof(parameters));
        Group.Broadcast(parameters);
        foreach (var buffer in optimizer.StateBuffers) Group.Broadcast(buffer.AsSpan());
        var (s0, s1, s2, s3) = rng.State;
        Span<ulong> scalars = [(ulong)iteration, (ulong)optimizer.Steps, s0, s1, s2, s3, BitConverter.DoubleToUInt64Bits(optimizer.LearningRate)];
        Group.Broadcast(scalars);
        iteration = (long)scalars[0];
        Step = iteration;
        optimizer.RestoreSteps((long)scalars[1]);
        rng = Rng.FromState((scalars[2], scalars[3], scalars[4], scalars[5]));
        optimizer.LearningRate = BitConverter.UInt64BitsToDouble(scalars[6]);
    }

    /// <summary>
    /// Sums <paramref name="gradient"/> (this rank's gradient of its shard's summed loss) over all ranks, then multiplies
    /// by <paramref name="scale"/> (typically 1 / global batch), in place, identically on every rank. Returns the sum of
    /// the ranks' <paramref name="localLoss"/> values (in rank order). Throws <see cref="DistributedTrainingException"/>
    /// on every rank, leaving <paramref name="gradient"/> unreduced, when any rank's loss or gradient is not finite.
    /// </summary>
    public double ReduceGradients(Span<T> gradient, double localLoss, long step, double scale)
    {
        if (gradient.Length != ParameterCount)
            throw new ArgumentException($"DataParallel was created for {ParameterCount} parameters; the gradient has {gradient.Length}.", nameof(gradient));
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (!double.IsFinite(scale)) throw new ArgumentOutOfRangeException(nameof(scale), scale, "The gradient scale must be finite.");
        Step = step;
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            double loss = Reduce(gradient, localLoss, step, scale);
            Step = step + 1;
            return loss;
        }
        finally
        {
            _reduceTicks += System.Diagnostics.Stopwatch.GetTimestamp() - started;
            Reductions++;
        }
    }

    private double Reduce(Span<T> gradient, double localLoss, long step, double scale)
    {
        // First a tiny exchange of every rank's loss and health, so all ranks agree to stop before any update.
        _status[0] = localLoss;
        _status[1] = (double.IsFinite(localLoss) ? 0 : LossNotFinite) + (AllFinite(gradient) ? 0 : GradientNotFinite);
        Group.AllGather<double>(_status, _allStatus);
        double lossSum = 0;
        List<string>? faults = null;
        int firstFault = -1;
        for (int r = 0; r < Group.Size; r++)
        {
            double loss = _allStatus[2 * r], flags = _allStatus[2 * r + 1];
            lossSum += loss;
            if (flags == 0) continue;
            string what = flags == LossNotFinite ? $"a non-finite loss ({loss})"
                : flags == GradientNotFinite ? "a non-finite gradient" : $"a non-finite loss ({loss}) and gradient";
            (faults ??= []).Add($"rank {r} hit {what}");
            if (firstFault < 0) firstFault = r;
        }
        if (faults is not null)
            throw new DistributedTrainingException(firstFault, step,
                $"Training stopped at global step {step}: {string.Join("; ", faults)}. Every rank stops before this step's update, " +
                "so the parameters and the last checkpoint are untouched; resume from the checkpoint (e.g. with a lower learning rate).");

        T s = T.CreateChecked(scale);
        if (Group.Size == 1)
        {
            for (int i = 0; i < gradient.Length; i++) gradient[i] *= s;
        }
        else if (Reduction == GradientReduction.Allreduce)
        {
            Group.AllReduceSum(gradient);
            for (int i = 0; i < gradient.Length; i++) gradient[i] *= s;
        }
        else
        {
            Group.AllGather<T>(gradient, _gathered);
            int n = ParameterCount;
            for (int i = 0; i < n; i++)
            {
                T sum = _gathered![i];
                for (int r = 1; r < Group.Size; r++) sum += _gathered[r * n + i];
                gradient[i] = sum * s;
            }
        }
        return lossSum;
    }

    /// <summary>
    /// Checks that every rank holds bitwise the same θ (a 64-bit hash per rank, gathered); throws
    /// <see cref="DistributedTrainingException"/> naming the first rank that differs from rank 0. Cheap: call it before
    /// writing a checkpoint.
    /// </summary>
    public void CheckInSync(ReadOnlySpan<T> parameters, long step)
    {
        Span<ulong> mine = [Hash(MemoryMarshal.AsBytes(parameters))];
        var all = new ulong[Group.Size];
        Group.AllGather<ulong>(mine, all);
        for (int r = 1; r < all.Length; r++)
            if (all[r] != all[0])
                throw new DistributedTrainingException(r, step,
                    $"At global step {step} rank {r}'s parameters differ from rank 0's (hash {all[r]:x16} vs {all[0]:x16}); the ranks have diverged.");
    }

    /// <summary>
    /// Runs a rank's training <paramref name="body"/> and turns failures into a stop of every rank with a message naming
    /// the rank and the global step: a <see cref="DistributedTrainingException"/> (raised on all ranks alike) is reported
    /// once, by rank 0, and every rank returns <paramref name="faultExitCode"/>; any other exception on one rank is
    /// printed with its rank and step and ends all ranks with MPI_Abort. While the body runs, SIGTERM (what mpirun sends
    /// to the survivors when a rank process dies) prints which step this rank was at.
    /// </summary>
    public int RunGuarded(Func<int> body, int faultExitCode = 3)
    {
        ArgumentNullException.ThrowIfNull(body);
        using var term = Group.Size > 1
            ? PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => Console.Error.WriteLine(
                $"[rank {Group.Rank}] terminated by mpirun at global step {Step} (another rank has failed; mpirun names it). " +
                "Checkpoints are written atomically, so the last one is intact: resume from it."))
            : null;
        try
        {
            return body();
        }
        catch (DistributedTrainingException e)
        {
            if (Group.IsRoot) Console.Error.WriteLine(e.Message);
            return faultExitCode;
        }
        catch (Exception e) when (Group.Size > 1)
        {
            Console.Error.WriteLine($"[rank {Group.Rank}] failed at global step {Step}: {e.GetType().Name}: {e.Message}");
            Console.Error.WriteLine($"[rank {Group.Rank}] aborting all {Group.Size} ranks (MPI_Abort); the last checkpoint is intact.");
            Group.Abort(faultExitCode + 1);
            throw; // not reached
        }
    }

    private static bool AllFinite(ReadOnlySpan<T> values)
    {
        foreach (T v in values) if (!T.IsFinite(v)) return false;
        return true;
    }

    private static ulong Hash(ReadOnlySpan<byte> bytes)
    {
        ulong h = 14695981039346656037UL; // FNV-1a, 64-bit
        foreach (byte b in bytes) { h ^= b; h *= 1099511628211UL; }
        return h;
    }
}

/// <summary>Distributed training stopped on every rank: <see cref="Rank"/> is the (first) rank at fault, <see cref="Step"/> the global step.</summary>
public sealed class DistributedTrainingException(int rank, long step, string message) : Exception(message)
{
    public int Rank { get; } = rank;
    public long Step { get; } = step;
}
