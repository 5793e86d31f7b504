using OdeDsl;
using static OdeDsl.Ops;

namespace OdeDsl.Tests.Systems;

/// <summary>A generated field with a time input, so that chunks must slice t as well as h.</summary>
public static partial class ChunkTestField
{
    [OdeDynamics]
    internal static Vec F([Shape(3)] Vec h, float t, [Param(40, 4)] Mat W1, [Param(40)] Vec b1, [Param(3, 40)] Mat W2)
        => W2 * Tanh(W1 * Concat(h, t) + b1);
}

public class RowChunkedEvaluatorTests
{
    private static (double[] Theta, double[] T, double[] Y) Data(int batch, int seed)
    {
        var rng = new Random(seed);
        double[] R(int n, double scale) => Enumerable.Range(0, n).Select(_ => scale * (2 * rng.NextDouble() - 1)).ToArray();
        return (R(ChunkTestField.Dynamics.ParameterCount, 0.5), R(batch, 3), R(3 * batch, 2));
    }

    /// <summary>
    /// Chunk boundaries depend only on the batch size, never on which thread runs a chunk, so repeated calls and a run
    /// with the pool thread switched off give the same bits. Against ONE call of the whole batch a row may differ in its
    /// last bits: kernels group rows (GEMM register blocks, row tails gathered across rows), and a chunk boundary moves
    /// a row to another place in those groups.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(300)]
    [InlineData(1000)]   // not a multiple of the chunk size
    [InlineData(4099)]
    public void ChunkedEvaluationIsReproducibleAndMatchesOneCall(int batch)
    {
        var (theta, t, y) = Data(batch, batch);
        var oneCall = new double[3 * batch];
        ChunkTestField.Dynamics.Evaluate<double>(t, y, theta, oneCall, batch, new double[ChunkTestField.Dynamics.WorkspaceLength(batch)]);
        var rhs = new DynamicsRhs<ChunkTestField.Dynamics, double>(theta, batch);
        var first = new double[3 * batch];
        rhs.Evaluate(t, y, first, batch);
        for (int i = 0; i < first.Length; i++) Assert.True(Math.Abs(first[i] - oneCall[i]) <= 1e-13 * (1 + Math.Abs(oneCall[i])), $"element {i}");
        for (int repeat = 0; repeat < 20; repeat++) // the split between threads differs from call to call
        {
            var again = new double[3 * batch];
            rhs.Evaluate(t, y, again, batch);
            Assert.Equal(first, again);
        }
        bool enabled = TwoThreadLoop.Enabled;
        try
        {
            TwoThreadLoop.Enabled = false; // every chunk on the calling thread
            var alone = new double[3 * batch];
            rhs.Evaluate(t, y, alone, batch);
            Assert.Equal(first, alone);
        }
        finally { TwoThreadLoop.Enabled = enabled; }
    }

    [Fact]
    public void ASmallerBatchThanTheMaximumUsesOnlyItsRows()
    {
        var (theta, t, y) = Data(700, 7);
        var rhs = new DynamicsRhs<ChunkTestField.Dynamics, double>(theta, 2000);
        var dy = new double[3 * 700 + 1];
        dy[^1] = 42;
        rhs.Evaluate(t, y, dy, 700);
        var expected = new double[3 * 700];
        ChunkTestField.Dynamics.Evaluate<double>(t, y, theta, expected, 700, new double[ChunkTestField.Dynamics.WorkspaceLength(700)]);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(dy[i] - expected[i]) <= 1e-13 * (1 + Math.Abs(expected[i])));
        Assert.Equal(42, dy[^1]);
    }

    [Fact]
    public void ChunksAreSizedFromTheWorkspaceAndLargeBatchesAreSplit()
    {
        int rows = RowChunkedEvaluator<ChunkTestField.Dynamics, double>.ChunkRowsFor();
        Assert.InRange(rows, RowChunkedEvaluator<ChunkTestField.Dynamics, double>.MinChunkRows, 4096);
        long bytes = (long)ChunkTestField.Dynamics.WorkspaceLength(rows) * sizeof(double);
        Assert.InRange(bytes, RowChunkedEvaluator<ChunkTestField.Dynamics, double>.TargetChunkBytes / 2, RowChunkedEvaluator<ChunkTestField.Dynamics, double>.TargetChunkBytes);
        Assert.Null(RowChunkedEvaluator<ChunkTestField.Dynamics, double>.For(new double[ChunkTestField.Dynamics.ParameterCount], rows));
        Assert.NotNull(RowChunkedEvaluator<ChunkTestField.Dynamics, double>.For(new double[ChunkTestField.Dynamics.ParameterCount], 2 * rows));
    }

    [Fact]
    public void ShortArgumentsAreRejectedBeforeAnyChunkRuns()
    {
        var (theta, t, y) = Data(1000, 3);
        var rhs = new DynamicsRhs<ChunkTestField.Dynamics, double>(theta, 1000);
        var ex = Assert.Throws<ArgumentException>(() => rhs.Evaluate(t, y.AsSpan(0, 2999), new double[3000], 1000));
        Assert.Contains("y", ex.Message);
        Assert.Throws<ArgumentException>(() => rhs.Evaluate(t.AsSpan(0, 999), y, new double[3000], 1000));
    }

    [Fact]
    public void EvaluationDoesNotAllocate()
    {
        var (theta, t, y) = Data(2048, 11);
        var rhs = new DynamicsRhs<ChunkTestField.Dynamics, double>(theta, 2048);
        var dy = new double[3 * 2048];
        for (int i = 0; i < 50; i++) rhs.Evaluate(t, y, dy, 2048); // JIT, pool-thread start-up and its thread statics
        AllocationAssert.NoneWithin(() => { for (int i = 0; i < 100; i++) rhs.Evaluate(t, y, dy, 2048); });
    }

    [Fact]
    public void ASolveThroughChunkedEvaluationMatchesTheOneCallSolve()
    {
        var (theta, _, y) = Data(600, 5);
        double[] times = [0.0, 0.5, 1.0];
        var chunked = Ode.Solve(new DynamicsRhs<ChunkTestField.Dynamics, double>(theta, 600), y, times);
        var serial = Ode.Solve(new SerialRhs(theta, 600), y, times);
        Assert.Equal(serial.Stats, chunked.Stats);
        for (int i = 0; i < serial.States.Length; i++) Assert.True(Math.Abs(serial.States[i] - chunked.States[i]) <= 1e-10, $"element {i}");
    }

    [Fact]
    public void AChunkThatThrowsSurfacesOnTheCallerAndTheNextCallWorks()
    {
        const int batch = 4000;
        var rhs = new DynamicsRhs<PoisonedRows, double>([], batch);
        var t = new double[batch]; var y = new double[batch]; var dy = new double[batch];
        for (int poisoned = 0; poisoned < batch; poisoned += 997) // first, middle and last chunks: caller's or pool's
        {
            y[poisoned] = double.NaN;
            var ex = Assert.Throws<InvalidOperationException>(() => rhs.Evaluate(t, y, dy, batch));
            Assert.Contains("poisoned", ex.Message);
            y[poisoned] = 1;
            rhs.Evaluate(t, y, dy, batch);
            Assert.All(dy, v => Assert.Equal(-1.0, v));
        }
    }

    /// <summary>dh = −1 per row; throws for a NaN row, from whichever thread evaluates its chunk.</summary>
    private sealed class PoisonedRows : IOdeDynamics<PoisonedRows>
    {
        public static int StateSize => 1;
        public static ReadOnlySpan<int> StateShape => new[] { 1 };
        public static int ParameterCount => 0;
        public static ParameterLayout Layout { get; } = new();
        public static int WorkspaceLength(int batch) => 64 * batch;
        public static void Evaluate<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh, int batch, Span<T> workspace)
            where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            for (int b = 0; b < batch; b++)
            {
                if (T.IsNaN(h[b])) throw new InvalidOperationException("row poisoned");
                dh[b] = -T.One;
            }
        }
        public static void VectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> cotangent,
            Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
            where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => throw new NotSupportedException();
        public static void JacobianVectorProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> tangent,
            Span<T> dh, Span<T> jvp, int batch, Span<T> workspace)
            where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => throw new NotSupportedException();
        public static void EvaluateWithDivergence<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh,
            Span<T> divergence, int batch, Span<T> workspace)
            where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => throw new NotSupportedException();
    }

    private readonly struct SerialRhs(double[] theta, int batch) : IOdeRhs<double>
    {
        private readonly double[] _ws = new double[ChunkTestField.Dynamics.WorkspaceLength(batch)];
        public int StateSize => 3;
        public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int b) =>
            ChunkTestField.Dynamics.Evaluate(t, y, theta, dy, b, _ws);
    }
}
