using Mnist;
using OdeDsl.Data;
using OdeDsl.Training;

namespace OdeDsl.Tests.Distributed;

/// <summary>
/// examples/Mnist --distributed under mpirun (2 ranks, each in its own working folder) against one process, on a small
/// synthetic IDX set: the MLP has no ODE solve, so the two runs differ only by the rank-order summation's rounding, and a
/// wrong shard, label or crop alignment would show far above it.
/// </summary>
public class MnistMpiTests
{
    [MpiFact]
    public void TwoRanksTrainLikeOneProcessAndOnlyRankZeroWrites()
    {
        string root = Directory.CreateTempSubdirectory("odedsl-mpi-mnist-").FullName;
        try
        {
            string data = Directory.CreateDirectory(Path.Combine(root, "data")).FullName;
            var rng = new Random(7);
            byte[] Pixels(int n) { var p = new byte[n * 784]; rng.NextBytes(p); return p; }
            byte[] Labels(int n) => Enumerable.Range(0, n).Select(_ => (byte)rng.Next(10)).ToArray();
            IdxFile.Write(Path.Combine(data, "train-images-idx3-ubyte"), [24, 28, 28], Pixels(24));
            IdxFile.Write(Path.Combine(data, "train-labels-idx1-ubyte"), [24], Labels(24));
            IdxFile.Write(Path.Combine(data, "t10k-images-idx3-ubyte"), [8, 28, 28], Pixels(8));
            IdxFile.Write(Path.Combine(data, "t10k-labels-idx1-ubyte"), [8], Labels(8));

            string w0 = Directory.CreateDirectory(Path.Combine(root, "rank0")).FullName, w1 = Directory.CreateDirectory(Path.Combine(root, "rank1")).FullName;
            string one = Directory.CreateDirectory(Path.Combine(root, "one")).FullName;
            string dll = typeof(MnistRun).Assembly.Location;
            // 3 steps of 8 images (random crops on), each split 4 + 4 over the ranks.
            string[] args = ["--model", "mlp", "--epochs", "1", "--batch", "8", "--test-batch", "8", "--threads", "1", "--plain", "--data", data, "--out", "o"];
            var (code, output) = MpiRunner.Launch(
                ["-np", "1", "-wdir", w0, MpiRunner.Dotnet, dll, .. args, "--distributed", ":", "-np", "1", "-wdir", w1, MpiRunner.Dotnet, dll, .. args, "--distributed"]);
            Assert.True(code == 0, output);
            Assert.Contains("Distributed: 2 ranks", output);
            Assert.Empty(Directory.EnumerateFileSystemEntries(w1));
            (code, output) = MpiRunner.Launch(["-np", "1", "-wdir", one, MpiRunner.Dotnet, dll, .. args]);
            Assert.True(code == 0, output);

            var mpi = LoadTheta(Path.Combine(w0, "o", "mlp", "checkpoint.bin"));
            var single = LoadTheta(Path.Combine(one, "o", "mlp", "checkpoint.bin"));
            var initial = new MnistClassifier<float>(ModelKind.Mlp, 8).Theta;
            double moved = 0, diff = 0;
            for (int i = 0; i < single.Length; i++)
            {
                moved = Math.Max(moved, Math.Abs(single[i] - initial[i]));
                diff = Math.Max(diff, Math.Abs(mpi[i] - single[i]));
            }
            Assert.True(moved > 1e-4, $"training moved θ by only {moved:E2}");
            // Measured by hand on 2 ranks (4 and 8 steps of 64 real images): up to 9.3e-9; allowed 1e-6.
            Assert.True(diff <= 1e-6, $"max |θ(2 ranks) − θ(1 process)| = {diff:E2}");
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }

    private static float[] LoadTheta(string path)
    {
        int n = new MnistClassifier<float>(ModelKind.Mlp, 8).ParameterCount;
        var theta = new float[n];
        Assert.Equal(1, Checkpoint.Load(path, theta, new Sgd<float>(n, 0.1, 0.9)).Iteration);
        return theta;
    }
}
