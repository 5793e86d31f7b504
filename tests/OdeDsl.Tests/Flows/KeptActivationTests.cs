using System.Numerics;
using OdeDsl.Flows;
using OdeDsl.Training;

namespace OdeDsl.Tests.Flows;

/// <summary>
/// Backprop keeps the MLP field's hidden activations from every forward evaluation (ActivationLog) and starts each stage's
/// VJP from them instead of recomputing the stage's forward. The kept path must give the recomputing path's gradient bit
/// for bit — chunked (the bench's 512 rows) or not, adaptive with rejected steps, over its memory budget — must match
/// central differences, must actually be taken (every VJP a hit), and must not allocate per step once its pool is warm.
/// </summary>
[Collection(nameof(Recycling.PooledAllocationCollection))]   // it counts allocations of pooled buffers
public class KeptActivationTests
{
    private sealed record Run<T>(OdeGradients<T> Gradients, long Hits, int Logged, SolverStats Forward) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>The (z, Δlog p) system of an MLP field from t = 1 to 0 with dL/dh at the end; loss = Σ w·h(0).</summary>
    private static Run<T> Solve<TSpec, T>(OdeDsl.Sensitivity sensitivity, int batch, SolveOptions<T> options, T[] theta, int seed = 3)
        where TSpec : IMlpFieldSpec
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (y0, w) = Inputs<T>(batch, seed);
        var times = new[] { T.One, T.Zero };
        var dL = new T[2 * y0.Length];
        w.CopyTo(dL, y0.Length);
        var forward = Ode.Forward<ExactTraceCnf<MlpField<TSpec>>, T>(y0, times, theta, sensitivity, options);
        var grads = forward.Backward(dL);
        var log = ((BackpropSensitivity.Tape<T>)forward.Record!).Activations;
        return new Run<T>(grads, log?.Hits ?? 0, log?.Count ?? 0, forward.ForwardStats);
    }

    private static (T[] Y0, T[] W) Inputs<T>(int batch, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Rng((ulong)seed);
        var y0 = new T[batch * 3];
        var w = new T[batch * 3];
        for (int i = 0; i < y0.Length; i++)
        {
            y0[i] = i % 3 == 2 ? T.Zero : T.CreateChecked(rng.NextGaussian());
            w[i] = T.CreateChecked(rng.NextGaussian() / batch);
        }
        return (y0, w);
    }

    private static void AssertSameBits<T>(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, string what) where T : unmanaged
        => Assert.True(System.Runtime.InteropServices.MemoryMarshal.AsBytes(expected).SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.AsBytes(actual)),
            $"{what}: the kept path's values differ from the recomputing path's.");

    private static void AssertSameGradients<T>(Run<T> recomputed, Run<T> kept) where T : unmanaged, IFloatingPointIeee754<T>
    {
        AssertSameBits<T>(recomputed.Gradients.Theta, kept.Gradients.Theta, "dL/dθ");
        AssertSameBits<T>(recomputed.Gradients.InitialState, kept.Gradients.InitialState, "dL/dh₀");
        AssertSameBits<T>(recomputed.Gradients.Times, kept.Gradients.Times, "dL/dt");
        Assert.Equal(recomputed.Gradients.Backward.FunctionEvaluations, kept.Gradients.Backward.FunctionEvaluations);
    }

    [Fact]
    public void BenchMlpKeptPathIsTheRecomputedGradientBitForBit()
    {
        // cnf.py's 2 → 64 → 64 → 2 field at the bench's 512 rows: the forward and the sweep both run two 256-row chunks
        var theta = MlpField<CnfPyMlpSpec>.Layout.Initialize<float>(seed: 1);
        var options = new SolveOptions<float> { RelTol = 1e-5f, AbsTol = 1e-5f };
        var recomputed = Solve<CnfPyMlpSpec, float>(BackpropSensitivity.Recomputing, 512, options, theta);
        var kept = Solve<CnfPyMlpSpec, float>(OdeDsl.Sensitivity.Backprop, 512, options, theta);
        Assert.Equal(2, new AdjointBatch<ExactTraceCnf<MlpField<CnfPyMlpSpec>>, float>(theta, 512).Chunks);
        AssertSameGradients(recomputed, kept);
        Assert.Equal(0, recomputed.Logged);
        Assert.Equal(kept.Forward.FunctionEvaluations, kept.Logged);                 // every evaluation logged …
        Assert.Equal(kept.Gradients.Backward.FunctionEvaluations, kept.Hits);        // … and every VJP served from it
    }

    [Theory]
    [InlineData(24)]   // one call over the batch
    [InlineData(80)]   // two chunks of 40 (ICoarseRowChunks), the sweep through AdjointBatch
    public void KeptPathMatchesRecomputingAndDifferencesInDouble(int batch)
    {
        var theta = MlpField<SmallConcatInput>.Layout.Initialize<double>(seed: 5);
        var options = new SolveOptions<double> { Method = Methods.Rk4, FixedStep = 0.125 };
        var recomputed = Solve<SmallConcatInput, double>(BackpropSensitivity.Recomputing, batch, options, theta);
        var kept = Solve<SmallConcatInput, double>(OdeDsl.Sensitivity.Backprop, batch, options, theta);
        AssertSameGradients(recomputed, kept);
        Assert.Equal(kept.Gradients.Backward.FunctionEvaluations, kept.Hits);

        // central differences of the loss along a random direction of θ (fixed steps: the step sequence does not move)
        var (y0, w) = Inputs<double>(batch, 3);
        double Loss(double s, double[] dir)
        {
            var th = theta.Zip(dir, (p, q) => p + s * q).ToArray();
            var sol = Ode.Solve(new DynamicsRhs<ExactTraceCnf<MlpField<SmallConcatInput>>, double>(th, batch), y0, [1.0, 0.0], options);
            return sol.States.AsSpan(y0.Length).ToArray().Zip(w, (a, b) => a * b).Sum();
        }
        var rng = new Rng(11);
        var direction = Enumerable.Range(0, theta.Length).Select(_ => rng.NextGaussian()).ToArray();
        const double eps = 1e-5;
        double fd = (Loss(eps, direction) - Loss(-eps, direction)) / (2 * eps);
        double analytic = kept.Gradients.Theta.Zip(direction, (g, d) => g * d).Sum();
        Assert.Equal(fd, analytic, 1e-7 * Math.Max(1, Math.Abs(fd)));
    }

    [Fact]
    public void RejectedStepsAreLoggedButNeverUsed()
    {
        // A first step far too long for the tolerance: dopri5 rejects it (and more), and those attempts' evaluations sit
        // in the log at times and states no accepted stage has. The sweep must find only the accepted stages' entries.
        var theta = MlpField<SmallConcatInput>.Layout.Initialize<double>(seed: 7);
        for (int i = 0; i < theta.Length; i++) theta[i] *= 3;   // a stiffer field: more steps
        var options = new SolveOptions<double> { RelTol = 1e-8, AbsTol = 1e-8, FirstStep = 0.9 };
        var recomputed = Solve<SmallConcatInput, double>(BackpropSensitivity.Recomputing, 80, options, theta);
        var kept = Solve<SmallConcatInput, double>(OdeDsl.Sensitivity.Backprop, 80, options, theta);
        Assert.True(kept.Forward.RejectedSteps > 0, "the solve was meant to reject steps");
        long acceptedStages = 6 * kept.Forward.AcceptedSteps + 1;   // dopri5: six new evaluations per step, and f₀
        Assert.True(kept.Logged > acceptedStages, $"{kept.Logged} evaluations logged, {acceptedStages} of accepted steps");
        AssertSameGradients(recomputed, kept);
        Assert.Equal(kept.Gradients.Backward.FunctionEvaluations, kept.Hits);
    }

    [Fact]
    public void OverItsBudgetTheLogKeepsTheFirstEvaluationsAndTheRestAreRecomputed()
    {
        var theta = MlpField<SmallConcatInput>.Layout.Initialize<double>(seed: 5);
        var options = new SolveOptions<double> { Method = Methods.Rk4, FixedStep = 0.125 };
        // one entry of 24 rows: t (24) + state (72) + kept (24 · 2·5: x₂ and Y) doubles
        long entryBytes = (24 + 72 + 24 * 10) * sizeof(double);
        var budget = new BackpropSensitivity(alwaysReplay: false, maxKeptBytes: 10 * entryBytes);
        var recomputed = Solve<SmallConcatInput, double>(BackpropSensitivity.Recomputing, 24, options, theta);
        var partly = Solve<SmallConcatInput, double>(budget, 24, options, theta);
        Assert.Equal(10, partly.Logged);
        Assert.InRange(partly.Hits, 1, partly.Gradients.Backward.FunctionEvaluations - 1);
        AssertSameGradients(recomputed, partly);
    }

    [Fact]
    public void ASecondBackwardRecomputesToTheSameGradient()
    {
        // The first Backward gives the kept activations back to the pool; a second one on the same forward finds none.
        var theta = MlpField<SmallConcatInput>.Layout.Initialize<double>(seed: 5);
        var (y0, w) = Inputs<double>(80, 3);
        var dL = new double[2 * y0.Length];
        w.CopyTo(dL, y0.Length);
        var forward = Ode.Forward<ExactTraceCnf<MlpField<SmallConcatInput>>, double>(y0, [1.0, 0.0], theta, OdeDsl.Sensitivity.Backprop,
            new SolveOptions<double> { RelTol = 1e-6, AbsTol = 1e-6 });
        var first = forward.Backward(dL);
        var log = ((BackpropSensitivity.Tape<double>)forward.Record!).Activations!;
        long hits = log.Hits;
        Assert.Equal(first.Backward.FunctionEvaluations, hits);
        var second = forward.Backward(dL);
        Assert.Equal(hits, log.Hits);   // nothing served the second time
        AssertSameBits<double>(first.Theta, second.Theta, "dL/dθ");
        AssertSameBits<double>(first.InitialState, second.InitialState, "dL/dh₀");
    }

    [Fact]
    public void LookUpIsByExactTimeAndStateAndEndsAtRelease()
    {
        var log = new ActivationLog<float>(batch: 2, stateSize: 3, keptPerRow: 4, rowsPerChunk: 2, maxBytes: 1 << 20);
        float[] t = [0.5f, 0.5f], y1 = [1, 2, 3, 4, 5, 6], y2 = [1, 2, 3, 4, 5, 7];
        log.Add(t, y1).Fill(1);
        log.Add(t, y2).Fill(2);
        Assert.Equal(2f, log.Find(0.5f, y2)[0]);
        Assert.Equal(1f, log.Find(0.5f, y1)[0]);
        var nudged = (float[])y1.Clone();
        nudged[5] = MathF.BitIncrement(nudged[5]);
        Assert.True(log.Find(0.5f, nudged).IsEmpty);                    // one ulp off: not the same evaluation
        Assert.True(log.Find(MathF.BitIncrement(0.5f), y1).IsEmpty);   // another time
        Assert.Equal(2, log.Hits);
        log.Release();
        Assert.True(log.Find(0.5f, y1).IsEmpty);
        Assert.True(log.Add(t, y1).IsEmpty);
    }

    [Fact]
    public void KeepingAllocatesNoMorePerStepThanRecomputing()
    {
        // The log's entries (262 KB per evaluation here) come from a pool once warm: a step allocates what it did before.
        var theta = MlpField<CnfPyMlpSpec>.Layout.Initialize<float>(seed: 1);
        var options = new SolveOptions<float> { RelTol = 1e-4f, AbsTol = 1e-4f };
        long recomputing = AllocationAssert.Fewest(() => Solve<CnfPyMlpSpec, float>(BackpropSensitivity.Recomputing, 512, options, theta));
        long keeping = AllocationAssert.Fewest(() => Solve<CnfPyMlpSpec, float>(OdeDsl.Sensitivity.Backprop, 512, options, theta));
        Assert.True(keeping <= recomputing + 16 * 1024, $"keeping allocated {keeping} bytes per step, recomputing {recomputing}");
    }
}
