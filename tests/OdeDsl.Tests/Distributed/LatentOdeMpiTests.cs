using LatentOde;
using OdeDsl.Training;

namespace OdeDsl.Tests.Distributed;

/// <summary>
/// examples/LatentOde --distributed under mpirun (2 ranks, each in its own working folder) against the same training in
/// this process: one full-batch step on the 1000 quick-run spirals.
/// </summary>
public class LatentOdeMpiTests
{
    [MpiFact]
    public void TwoRanksTrainLikeOneProcessAndOnlyRankZeroWrites()
    {
        string root = Directory.CreateTempSubdirectory("odedsl-mpi-latent-").FullName;
        try
        {
            string w0 = Directory.CreateDirectory(Path.Combine(root, "rank0")).FullName, w1 = Directory.CreateDirectory(Path.Combine(root, "rank1")).FullName;
            string dll = typeof(Trainer).Assembly.Location;
            string[] args = ["--quick", "--iterations", "1", "--eval-every", "1", "--out", "o", "--distributed"];
            // MPMD: rank 0 and rank 1 start in different folders, so a file written by rank 1 would show up in rank1/.
            var (code, output) = MpiRunner.Launch(
                ["-np", "1", "-wdir", w0, MpiRunner.Dotnet, dll, .. args, ":", "-np", "1", "-wdir", w1, MpiRunner.Dotnet, dll, .. args]);
            Assert.True(code == 0, output);
            Assert.Contains("distributed: 2 ranks", output);
            Assert.Empty(Directory.EnumerateFileSystemEntries(w1));
            string mpiCheckpoint = Path.Combine(w0, "o", "latent-ode-n30", "checkpoint.bin");
            Assert.True(File.Exists(Path.Combine(w0, "o", "latent-ode-n30", "summary.json")), output);

            var settings = new RunSettings("latent-ode", "paper", 30, 1, 1000, 200, 0.01, "backprop", 1e-5, 1e-6, 0, Path.Combine(root, "one"), 1, false, true);
            Trainer.Run(settings);
            var (mpiTheta, mpiGrad) = Load(mpiCheckpoint);
            var (oneTheta, oneGrad) = Load(Path.Combine(settings.RunDir, "checkpoint.bin"));
            Assert.NotEqual(LatentOdeModel<LatentField.Dynamics, float>.Initialize(0), oneTheta); // the step moved θ

            // Each rank's dopri5 picks its own steps for its 500 trajectories (shared steps per batch), so the gradients
            // agree to the solver tolerance (rtol 1e-5), not to rounding: measured 3.3e-6 relative; allowed 1e-4.
            double diff = 0, norm = 0;
            for (int i = 0; i < oneGrad.Length; i++) { diff += Math.Pow(mpiGrad[i] - oneGrad[i], 2); norm += Math.Pow(oneGrad[i], 2); }
            Assert.True(Math.Sqrt(diff / norm) <= 1e-4, $"relative gradient difference {Math.Sqrt(diff / norm):E2}");
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>θ and the first step's gradient, which Adam's first moment holds as (1 − β₁)·g.</summary>
    private static (float[] Theta, double[] Gradient) Load(string path)
    {
        int n = LatentOdeModel<LatentField.Dynamics, float>.ParameterCount;
        var theta = new float[n];
        var adam = new Adam<float>(n, 0.01);
        Assert.Equal(1, Checkpoint.Load(path, theta, adam).Iteration);
        return (theta, adam.StateBuffers[0].Select(m => m / (1 - adam.Beta1)).ToArray());
    }
}
