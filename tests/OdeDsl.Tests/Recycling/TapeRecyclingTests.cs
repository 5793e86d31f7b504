using System.Runtime.InteropServices;
using OdeDsl.Bench.Commands;
using OdeDsl.Flows;

namespace OdeDsl.Tests.Recycling;

/// <summary>
/// Tests that count a solve's allocations while its buffers come from process-wide pools (backprop's kept activations,
/// <see cref="ChunkRecycler{T}"/>) run alone: a solve of the same size in another class, at the same moment, takes or
/// gives back pooled arrays and moves the count by a whole dense output.
/// </summary>
[CollectionDefinition(nameof(PooledAllocationCollection), DisableParallelization = true)]
public sealed class PooledAllocationCollection;

/// <summary>
/// A training step gives its backprop tape's buffers back for the next step (<see cref="OdeForward{TDynamics, T}.Recycle"/>,
/// <see cref="ChunkRecycler{T}"/>): the next step reuses them with the same bits and allocates less than the dense output
/// it no longer allocates, and a recycled forward refuses to be read instead of reading arrays another solve now owns.
/// </summary>
[Collection(nameof(PooledAllocationCollection))]
public class TapeRecyclingTests
{
    [Fact]
    public void StepsReuseTheTapeWithTheSameBitsAndLessAllocation()
    {
        var problem = CnfStepProblem.Load(Path.Combine(AppContext.BaseDirectory, "Data", CnfStepProblem.FileName));
        var first = CnfStepProblem.Step<float>(problem, "mlp", "backprop");
        var second = CnfStepProblem.Step<float>(problem, "mlp", "backprop");
        Assert.Equal(first.Loss, second.Loss);
        Assert.True(MemoryMarshal.AsBytes(first.Gradient.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(second.Gradient.AsSpan())));
        // the dense output of this solve alone is 16 steps × 512 rows × 3 × (1 + 7 stage slots) floats = 786 KB; a step
        // allocated 1.2 MB before its tape was recycled, 0.4 MB after (the bench's alloc_mb_per_step)
        long bytes = AllocationAssert.Fewest(() => CnfStepProblem.Step<float>(problem, "mlp", "backprop"));
        Assert.True(bytes < 700_000, $"a training step allocated {bytes} bytes");
    }

    [Fact]
    public void ARecycledForwardRefusesBackwardAndItsDenseOutput()
    {
        var theta = MlpField<CnfPyMlpSpec>.Layout.Initialize<double>(seed: 2);
        var y0 = new double[24 * 3];
        for (int i = 0; i < y0.Length; i++) y0[i] = i % 3 == 2 ? 0 : Math.Sin(i);
        var forward = Ode.Forward<ExactTraceCnf<MlpField<CnfPyMlpSpec>>, double>(y0, [1.0, 0.0], theta, OdeDsl.Sensitivity.Backprop,
            new SolveOptions<double> { RelTol = 1e-6, AbsTol = 1e-6 });
        var dL = new double[2 * y0.Length];
        dL[^1] = 1;
        var before = forward.Backward(dL);
        Assert.Equal(before.Theta, forward.Backward(dL).Theta);   // before recycling, Backward repeats
        forward.Recycle();
        Assert.Throws<InvalidOperationException>(() => forward.Backward(dL));
        Assert.Throws<InvalidOperationException>(() => forward.Solution.Dense!.Evaluate(0.5, new double[y0.Length]));
    }

    [Fact]
    public void TheRecyclerLendsBackArraysOfTheSameLengthOnly()
    {
        // on a length no other test uses, so no solve in parallel takes these arrays
        const int length = 123_457;
        var a = ChunkRecycler<float>.Rent(length);
        ChunkRecycler<float>.Return(a);
        Assert.NotSame(a, ChunkRecycler<float>.Rent(length + 1));
        Assert.Same(a, ChunkRecycler<float>.Rent(length));
        Assert.NotSame(a, ChunkRecycler<float>.Rent(length));   // lent once, not twice
    }
}
