using OdeDsl.Training;
using static OdeDsl.Ops;

namespace OdeDsl.Tests.Training;

/// <summary>A small generated field for training tests: dh/dt = W2·tanh(W1·h + b1).</summary>
public static partial class TinyTrainingField
{
    [OdeDynamics]
    internal static Vec F([Shape(2)] Vec h, float t, [Param(4, 2)] Mat W1, [Param(4)] Vec b1, [Param(2, 4)] Mat W2)
        => W2 * Tanh(W1 * h + b1);
}

/// <summary>
/// Runs alone: other test classes retune process-wide kernel settings (e.g. the GEMM split thresholds) while they run,
/// which changes the order of floating-point sums in the middle of a run and breaks bit-for-bit comparisons.
/// </summary>
[CollectionDefinition(nameof(BitExactCollection), DisableParallelization = true)]
public sealed class BitExactCollection;

[Collection(nameof(BitExactCollection))]
public sealed class SolverCheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("odedsl-solver-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly double[] Times = [0, 0.25, 0.5];

    /// <summary>Fits the field to a rotation's trajectory from random starts (drawn from the RNG) with Adam and adjoint gradients.</summary>
    private static void Train(double[] theta, Adam<double> opt, ref Rng rng, long from, long to)
    {
        const int batch = 4;
        var y0 = new double[2 * batch];
        var target = new double[Times.Length * batch * 2];
        var dLoss = new double[target.Length];
        var options = new SolveOptions<double> { RelTol = 1e-6, AbsTol = 1e-8 };
        for (long it = from; it < to; it++)
        {
            for (int b = 0; b < batch; b++)
            {
                double x = 2 * rng.NextDouble() - 1, y = 2 * rng.NextDouble() - 1;
                y0[2 * b] = x; y0[2 * b + 1] = y;
                for (int i = 0; i < Times.Length; i++)
                {
                    double c = Math.Cos(Times[i]), s = Math.Sin(Times[i]);
                    target[(i * batch + b) * 2] = c * x - s * y;
                    target[(i * batch + b) * 2 + 1] = s * x + c * y;
                }
            }
            var fwd = Ode.Forward<TinyTrainingField.Dynamics, double>(y0, Times, theta, OdeDsl.Sensitivity.Adjoint(), options);
            var pred = fwd.Solution.States;
            for (int i = 0; i < pred.Length; i++) dLoss[i] = 2 * (pred[i] - target[i]) / pred.Length;
            opt.Step(theta, fwd.Backward(dLoss).Theta);
        }
    }

    [Fact]
    public void AdjointTrainingResumedFromACheckpointMatchesAnUninterruptedRunBitForBit()
    {
        var layout = TinyTrainingField.Dynamics.Layout;
        var straight = layout.Initialize<double>(3);
        var rng1 = new Rng(5);
        Train(straight, new Adam<double>(layout.Count, 0.02), ref rng1, 0, 12);

        var first = layout.Initialize<double>(3);
        var opt = new Adam<double>(layout.Count, 0.02);
        var rng2 = new Rng(5);
        Train(first, opt, ref rng2, 0, 5);
        string path = Path.Combine(_dir, "tiny.ckpt");
        Checkpoint.Save<double>(path, first, opt, 5, rng2);

        var resumed = new double[layout.Count];
        var fresh = new Adam<double>(layout.Count, 0.02);
        var state = Checkpoint.Load<double>(path, resumed, fresh);
        var rng3 = state.Rng;
        Train(resumed, fresh, ref rng3, state.Iteration, 12);

        Assert.NotEqual(layout.Initialize<double>(3), straight); // training moved θ
        Assert.Equal(straight.Select(BitConverter.DoubleToInt64Bits), resumed.Select(BitConverter.DoubleToInt64Bits));
    }
}
