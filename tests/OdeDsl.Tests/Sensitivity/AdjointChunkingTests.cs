using OdeDsl.Tests.Systems;

namespace OdeDsl.Tests.Sensitivity;

/// <summary>
/// The adjoint's backward evaluation over a large batch runs in chunks on two threads (<see cref="AdjointBatch{TDynamics, T}"/>)
/// with one θ-gradient slot per chunk, added in chunk order. Checked: the results repeat bit for bit from call to call and
/// with the pool thread off; they agree with one call over the whole batch to 1e-13 relative (the kernels group rows
/// differently, and the θ sum over rows is taken in another order); the adjoint and checkpointed gradients at such a batch
/// still agree with backprop; nothing is allocated per evaluation.
/// </summary>
public class AdjointChunkingTests
{
    private const int S = 3;   // ChunkTestField: 3 → 40 → 3, with t as an input

    /// <summary>Enough rows for an odd number of full chunks plus a short one, so the even-chunk rule and the tail both run.</summary>
    private static int LargeBatch => 3 * RowChunkedEvaluator<ChunkTestField.Dynamics, double>.ChunkRowsFor() + 17;

    private static (double[] Theta, double[] Z, double[] T) Data(int batch, int seed)
    {
        var rng = new Random(seed);
        double[] R(int n, double scale) => Enumerable.Range(0, n).Select(_ => scale * (2 * rng.NextDouble() - 1)).ToArray();
        var theta = R(ChunkTestField.Dynamics.ParameterCount, 0.5);
        var z = R(AugmentedRhs<ChunkTestField.Dynamics, double>.Length(batch), 2);
        return (theta, z, [0.7]);
    }

    private static double[] Evaluate(AugmentedRhs<ChunkTestField.Dynamics, double> rhs, double[] t, double[] z)
    {
        var dz = new double[z.Length];
        rhs.Evaluate(t, z, dz, 1);
        return dz;
    }

    [Fact]
    public void ChunkedAugmentedEvaluationRepeatsBitForBitAndMatchesOneCall()
    {
        int batch = LargeBatch;
        var (theta, z, t) = Data(batch, 3);
        var chunked = new AugmentedRhs<ChunkTestField.Dynamics, double>(theta, batch);
        var oneCall = new AugmentedRhs<ChunkTestField.Dynamics, double>(theta, batch, allowChunks: false);
        Assert.True(new AdjointBatch<ChunkTestField.Dynamics, double>(theta, batch).Chunks is >= 4 and var c && c % 2 == 0);

        double[] first = Evaluate(chunked, t, z), reference = Evaluate(oneCall, t, z);
        int n = batch * S;
        // Per-row outputs (f, −aᵀ∂f/∂h) and a_t element by element; a_θ (sums over rows) relative to its largest entry.
        for (int i = 0; i < 2 * n; i++)
            Assert.True(Math.Abs(first[i] - reference[i]) <= 1e-13 * (1 + Math.Abs(reference[i])), $"element {i}: {first[i]} vs {reference[i]}");
        double thetaScale = reference.AsSpan(2 * n, theta.Length).ToArray().Max(Math.Abs);
        for (int i = 2 * n; i < first.Length - 1; i++)
            Assert.True(Math.Abs(first[i] - reference[i]) <= 1e-13 * thetaScale, $"a_θ[{i - 2 * n}]: {first[i]} vs {reference[i]}");
        Assert.True(Math.Abs(first[^1] - reference[^1]) <= 1e-13 * (1 + Math.Abs(reference[^1])));
        Assert.NotEqual(0.0, thetaScale);

        for (int repeat = 0; repeat < 20; repeat++) Assert.Equal(first, Evaluate(chunked, t, z)); // threads split differently each call
        bool enabled = TwoThreadLoop.Enabled;
        try
        {
            TwoThreadLoop.Enabled = false; // every chunk on the calling thread
            Assert.Equal(first, Evaluate(chunked, t, z));
        }
        finally { TwoThreadLoop.Enabled = enabled; }
    }

    [Fact]
    public void ABatchUnderTwoChunksIsOneCallBitForBit()
    {
        int batch = RowChunkedEvaluator<ChunkTestField.Dynamics, double>.ChunkRowsFor() + 5;
        var (theta, z, t) = Data(batch, 4);
        Assert.Equal(1, new AdjointBatch<ChunkTestField.Dynamics, double>(theta, batch).Chunks);
        Assert.Equal(Evaluate(new(theta, batch, allowChunks: false), t, z), Evaluate(new(theta, batch), t, z));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GradientsAtALargeBatchAgreeWithBackpropAndRepeat(bool checkpointed)
    {
        int batch = LargeBatch;
        var rng = new Random(9);
        var theta = ChunkTestField.Dynamics.Layout.Initialize<double>(seed: 5);
        var y0 = Enumerable.Range(0, batch * S).Select(_ => 2 * rng.NextDouble() - 1).ToArray();
        double[] times = [0, 0.3, 0.8];
        var dL = Enumerable.Range(0, times.Length * batch * S).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var options = new SolveOptions<double> { RelTol = 1e-10, AbsTol = 1e-10 };
        var sensitivity = checkpointed ? OdeDsl.Sensitivity.CheckpointedAdjoint(2) : OdeDsl.Sensitivity.Adjoint();

        var backprop = Ode.Gradient<ChunkTestField.Dynamics, double>(y0, times, theta, dL, OdeDsl.Sensitivity.Backprop, options);
        var adjoint = Ode.Gradient<ChunkTestField.Dynamics, double>(y0, times, theta, dL, sensitivity, options);
        Assert.True(Reference.RelativeError(adjoint.Theta, backprop.Theta) <= 1e-6, $"dL/dθ {Reference.RelativeError(adjoint.Theta, backprop.Theta):E2}");
        Assert.True(Reference.RelativeError(adjoint.InitialState, backprop.InitialState) <= 1e-6);
        Assert.True(Reference.RelativeError(adjoint.Times, backprop.Times) <= 1e-6);

        var again = Ode.Gradient<ChunkTestField.Dynamics, double>(y0, times, theta, dL, sensitivity, options);
        Assert.Equal(adjoint.Theta, again.Theta);
        Assert.Equal(adjoint.InitialState, again.InitialState);
        Assert.Equal(adjoint.Times, again.Times);
        Assert.Equal(adjoint.Backward, again.Backward);
    }

    [Fact]
    public void ChunkedAugmentedEvaluationDoesNotAllocate()
    {
        int batch = LargeBatch;
        var (theta, z, t) = Data(batch, 6);
        var rhs = new AugmentedRhs<ChunkTestField.Dynamics, double>(theta, batch);
        var dz = new double[z.Length];
        for (int i = 0; i < 50; i++) rhs.Evaluate(t, z, dz, 1); // JIT, pool-thread start-up and its thread statics
        AllocationAssert.NoneWithin(() => { for (int i = 0; i < 50; i++) rhs.Evaluate(t, z, dz, 1); });
    }
}
