using System.Diagnostics;
using System.Runtime.InteropServices;
using OdeDsl.Training;
using OdeDsl.Training.Distributed;

namespace OdeDsl.MpiHarness;

/// <summary>Settings of one harness run (command line: see <see cref="HarnessOptions.Parse"/>).</summary>
public sealed record HarnessOptions
{
    public int Steps { get; init; } = 6;
    public int GlobalBatch { get; init; } = 12;
    public bool Distributed { get; init; }
    public GradientReduction Reduction { get; init; } = GradientReduction.RankOrder;
    /// <summary>In one process, compute the gradient as this many shards summed in rank order (what N ranks do).</summary>
    public int SimulatedRanks { get; init; } = 1;
    public string? OutDir { get; init; }
    public int CheckpointEvery { get; init; } = 2;
    public bool Resume { get; init; }
    public int FaultRank { get; init; } = -1;
    public long FaultStep { get; init; } = -1;
    /// <summary>"nan": the fault rank's loss is NaN at the fault step; "kill": it SIGKILLs itself there; "throw": it throws.</summary>
    public string Fault { get; init; } = "nan";
    public bool Backprop { get; init; }

    public static HarnessOptions Parse(string[] args)
    {
        var o = new HarnessOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            o = args[i] switch
            {
                "--steps" => o with { Steps = int.Parse(Next()) },
                "--batch" => o with { GlobalBatch = int.Parse(Next()) },
                "--distributed" => o with { Distributed = true },
                "--reduction" => o with { Reduction = Next() == "allreduce" ? GradientReduction.Allreduce : GradientReduction.RankOrder },
                "--simulate-ranks" => o with { SimulatedRanks = int.Parse(Next()) },
                "--out" => o with { OutDir = Next() },
                "--checkpoint-every" => o with { CheckpointEvery = int.Parse(Next()) },
                "--resume" => o with { Resume = true },
                "--fault" => o with { Fault = Next() },
                "--fault-rank" => o with { FaultRank = int.Parse(Next()) },
                "--fault-step" => o with { FaultStep = long.Parse(Next()) },
                "--backprop" => o with { Backprop = true },
                _ => throw new ArgumentException($"Unknown option '{args[i]}'."),
            };
        }
        return o;
    }
}

/// <summary>
/// A small data-parallel training: each global batch holds <c>GlobalBatch</c> random start points (drawn identically on
/// every rank from the shared RNG); the target is the start rotated by 1 rad; the loss is the summed squared error at
/// t = 0.5 of the learned field (rk4, fixed step 0.05, so every row's steps are the same whatever the batch split),
/// averaged over the global batch; Adam. Writes <c>theta.bin</c> (raw float64) and checkpoints from rank 0.
/// </summary>
public static class HarnessTrainer
{
    private static readonly double[] Times = [0.0, 0.5];

    public static int ParameterCount => HarnessField.Dynamics.ParameterCount;

    /// <summary>One process (no MPI), as the reference of the MPI tests.</summary>
    public static double[] RunSingle(HarnessOptions o) => Run(o, new DataParallel<double>(ProcessGroup.Single, ParameterCount, o.Reduction));

    private static readonly SolveOptions<double> Options = new() { Method = Methods.Rk4, FixedStep = 0.05 };

    /// <summary>Trains on <paramref name="dp"/>'s group (created for <see cref="HarnessField.Dynamics"/>' parameters).</summary>
    public static double[] Run(HarnessOptions o, DataParallel<double> dp)
    {
        int p = HarnessField.Dynamics.ParameterCount;
        var group = dp.Group;
        double[] theta = HarnessField.Dynamics.Layout.Initialize<double>(seed: 3);
        var optimizer = new Adam<double>(p, learningRate: 0.02);
        var rng = new Rng(7);
        long iteration = 0;
        string? checkpoint = o.OutDir is null ? null : Path.Combine(o.OutDir, "checkpoint.bin");
        if (o.Resume && group.IsRoot)
        {
            var state = Checkpoint.Load<double>(checkpoint ?? throw new ArgumentException("--resume needs --out."), theta, optimizer);
            iteration = state.Iteration;
            rng = state.Rng;
        }
        dp.SynchronizeState(theta, optimizer, ref iteration, ref rng);

        var sensitivity = o.Backprop ? Sensitivity.Backprop : Sensitivity.Adjoint();
        int batch = o.GlobalBatch;
        var y0 = new double[2 * batch];
        var target = new double[2 * batch];
        var gradient = new double[p];
        while (iteration < o.Steps)
        {
            for (int b = 0; b < batch; b++)
            {
                double x = rng.NextGaussian(), y = rng.NextGaussian();
                y0[2 * b] = x; y0[2 * b + 1] = y;
                target[2 * b] = Math.Cos(1) * x - Math.Sin(1) * y;
                target[2 * b + 1] = Math.Sin(1) * x + Math.Cos(1) * y;
            }
            // The shards this process computes: its own rank's (MPI), or all simulated ranks in rank order (one process).
            int shards = group.Size > 1 ? 1 : o.SimulatedRanks;
            Array.Clear(gradient);
            double lossSum = 0;
            var partial = new double[p];
            for (int s = 0; s < shards; s++)
            {
                var (start, count) = group.Size > 1 ? dp.Shard(batch) : ProcessGroup.Shard(batch, s, shards);
                double shardLoss = ShardGradient(y0.AsSpan(2 * start, 2 * count), target.AsSpan(2 * start, 2 * count), theta, sensitivity, partial);
                lossSum += shardLoss;
                for (int i = 0; i < p; i++) gradient[i] += partial[i]; // rank order, starting from 0 + g₀ = g₀ exactly
            }
            if (group.Rank == o.FaultRank && iteration == o.FaultStep)
            {
                if (o.Fault == "kill") Process.GetCurrentProcess().Kill(); // SIGKILL: no managed code runs after this
                if (o.Fault == "throw") throw new IOException("injected fault (--fault throw)");
                lossSum = double.NaN;
            }
            dp.ReduceGradients(gradient, lossSum, iteration, scale: 1.0 / batch);
            optimizer.Step(theta, gradient);
            iteration++;
            if (checkpoint is not null && iteration % o.CheckpointEvery == 0)
            {
                dp.CheckInSync(theta, iteration);
                if (group.IsRoot) Checkpoint.Save<double>(checkpoint, theta, optimizer, iteration, rng);
            }
        }
        if (o.OutDir is not null && group.IsRoot)
            AtomicFile.WriteAllBytes(Path.Combine(o.OutDir, "theta.bin"), MemoryMarshal.AsBytes(theta.AsSpan()));
        return theta;
    }

    /// <summary>Gradient of the shard's summed squared error at t = 0.5 (into <paramref name="gradient"/>); returns that sum.</summary>
    private static double ShardGradient(ReadOnlySpan<double> y0, ReadOnlySpan<double> target, double[] theta, Sensitivity sensitivity, double[] gradient)
    {
        int rows = y0.Length / 2;
        var forward = Ode.Forward<HarnessField.Dynamics, double>(y0, Times, theta, sensitivity, Options);
        var states = forward.Solution.States; // [2 times, rows, 2]
        var dLoss = new double[states.Length];
        double loss = 0;
        for (int i = 0; i < 2 * rows; i++)
        {
            double d = states[2 * rows + i] - target[i];
            loss += d * d;
            dLoss[2 * rows + i] = 2 * d;
        }
        forward.Backward(dLoss).Theta.CopyTo(gradient, 0);
        return loss;
    }
}
