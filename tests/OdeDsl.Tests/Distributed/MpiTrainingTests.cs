using System.Runtime.InteropServices;
using OdeDsl.MpiHarness;
using OdeDsl.Training;
using OdeDsl.Training.Distributed;

namespace OdeDsl.Tests.Distributed;

/// <summary>
/// mpirun -np 2 on the harness (tests/OdeDsl.MpiHarness: a 2-16-2 field, rk4 with a fixed step so a row's solve does not
/// depend on the rest of the batch, adjoint gradients, Adam) against the same training in this process.
/// </summary>
public class MpiTrainingTests
{
    private const int Steps = 6;

    [MpiFact]
    public void TwoRanksEqualOneProcessOnTheFullBatch()
    {
        using var dir = new TempDir();
        var (code, output) = MpiRunner.Run(2, "--out", dir.Path, "--steps", $"{Steps}", "--checkpoint-every", "100");
        Assert.True(code == 0, output);
        double[] mpi = ReadTheta(dir.Path);

        double[] full = HarnessTrainer.RunSingle(new HarnessOptions { Steps = Steps });
        double[] shardedHere = HarnessTrainer.RunSingle(new HarnessOptions { Steps = Steps, SimulatedRanks = 2 });
        // The reduction order is fixed (rank 0's shard + rank 1's shard, then × 1/B): bit for bit what one process
        // computes shard by shard in the same order.
        Assert.Equal(shardedHere, mpi);
        // Against one solve of the whole batch only the order of the batch sum differs: float64 rounding.
        double scale = full.Max(Math.Abs);
        for (int i = 0; i < full.Length; i++)
            Assert.True(Math.Abs(mpi[i] - full[i]) <= 1e-13 * scale, $"θ[{i}]: 2 ranks {mpi[i]:R}, 1 process {full[i]:R}");
        Assert.NotEqual(HarnessTrainer.RunSingle(new HarnessOptions { Steps = 0 }), mpi); // training moved θ
    }

    [MpiFact]
    public void MpiAllreduceMatchesRankOrderToRounding()
    {
        using var dir = new TempDir();
        var (code, output) = MpiRunner.Run(2, "--out", dir.Path, "--steps", $"{Steps}", "--reduction", "allreduce", "--checkpoint-every", "3");
        Assert.True(code == 0, output);
        double[] mpi = ReadTheta(dir.Path), reference = HarnessTrainer.RunSingle(new HarnessOptions { Steps = Steps, SimulatedRanks = 2 });
        double scale = reference.Max(Math.Abs);
        for (int i = 0; i < reference.Length; i++) Assert.True(Math.Abs(mpi[i] - reference[i]) <= 1e-13 * scale, $"θ[{i}]");
    }

    [MpiFact]
    public void NonFiniteLossOnOneRankStopsEveryRankAndResumeContinues()
    {
        using var dir = new TempDir();
        var (code, output) = MpiRunner.Run(2, "--out", dir.Path, "--steps", "8", "--checkpoint-every", "2",
            "--fault", "nan", "--fault-rank", "1", "--fault-step", "5");
        Assert.True(code == 3, $"exit code {code}\n{output}");
        Assert.Contains("Training stopped at global step 5: rank 1 hit a non-finite loss (NaN)", output);
        Assert.False(File.Exists(Path.Combine(dir.Path, "theta.bin")), "no rank may finish after the fault");
        Assert.Equal(4, LoadCheckpoint(dir.Path).Iteration); // steps 0–3 done, saved at 4; step 5's fault left it intact

        (code, output) = MpiRunner.Run(2, "--out", dir.Path, "--steps", "8", "--checkpoint-every", "2", "--resume");
        Assert.True(code == 0, output);
        // Rank 0 loaded the checkpoint and broadcast θ, Adam's moments, the step and the RNG: as if never interrupted.
        Assert.Equal(HarnessTrainer.RunSingle(new HarnessOptions { Steps = 8, SimulatedRanks = 2 }), ReadTheta(dir.Path));
    }

    [MpiFact]
    public void KilledRankStopsEveryRankAndLeavesTheCheckpoint()
    {
        using var dir = new TempDir();
        var (code, output) = MpiRunner.Run(2, "--out", dir.Path, "--steps", "8", "--checkpoint-every", "2",
            "--fault", "kill", "--fault-rank", "1", "--fault-step", "5");
        Assert.True(code != 0, output);
        Assert.Contains("process rank 1", output);           // mpirun names the dead rank …
        Assert.Contains("signal 9", output);
        Assert.False(File.Exists(Path.Combine(dir.Path, "theta.bin")), "the surviving rank must not finish");
        Assert.Equal(4, LoadCheckpoint(dir.Path).Iteration);
    }

    private static double[] ReadTheta(string dir) => MemoryMarshal.Cast<byte, double>(File.ReadAllBytes(Path.Combine(dir, "theta.bin"))).ToArray();

    private static CheckpointState LoadCheckpoint(string dir) =>
        Checkpoint.Load<double>(Path.Combine(dir, "checkpoint.bin"), new double[HarnessTrainer.ParameterCount], new Adam<double>(HarnessTrainer.ParameterCount));

    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("odedsl-mpi-").FullName;
        public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (IOException) { } }
    }
}
