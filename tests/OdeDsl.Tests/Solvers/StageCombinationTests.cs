namespace OdeDsl.Tests.Solvers;

/// <summary>The solver's one-pass vector kernels against the scalar statements they replace, bit for bit.</summary>
public class StageCombinationTests
{
    private static double[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => 2 * rng.NextDouble() - 1).ToArray();
    }

    [Theory]
    [InlineData(1)] [InlineData(3)] [InlineData(4)] [InlineData(7)] [InlineData(8)] [InlineData(33)] [InlineData(2048)]
    public void CombineEqualsTheScalarSumInSlotOrder(int len)
    {
        const int slots = 7, n = 2100, off = 13;
        var y = Random(n, 1); var k = Random(slots * n, 2);
        double[] coef = [0.1, 0, -0.3, 1e-3, 0, 2.5, -1.0 / 3];
        var dst = new double[len];
        StageCombination.Combine<double>(y.AsSpan(off, len), k, n, off, coef, dst);
        for (int i = 0; i < len; i++)
        {
            double acc = y[off + i];
            for (int j = 0; j < slots; j++) if (coef[j] != 0) acc += coef[j] * k[j * n + off + i];
            Assert.Equal(acc, dst[i]);
        }
    }

    [Fact]
    public void CombineMayWriteOverItsInput()
    {
        const int n = 37;
        var y = Random(n, 3); var k = Random(2 * n, 4); var copy = (double[])y.Clone();
        StageCombination.Combine<double>(y, k, n, 0, [0.5, -2.0], y);
        for (int i = 0; i < n; i++) Assert.Equal(copy[i] + 0.5 * k[i] + -2.0 * k[n + i], y[i]);
    }

    [Theory]
    [InlineData(5)] [InlineData(64)] [InlineData(1001)]
    public void ScaledErrorEqualsTheScalarFormula(int n)
    {
        var y = Random(n, 5); var yNew = Random(n, 6); var k = Random(7 * n, 7);
        double[] coef = [1e-3, 0, 2e-3, -4e-3, 5e-4, -1e-3, 7e-4];
        var dst = new double[n];
        StageCombination.ScaledError<double>(k, n, coef, y, yNew, 1e-9, 1e-7, dst);
        for (int i = 0; i < n; i++)
        {
            double acc = 0;
            for (int j = 0; j < 7; j++) if (coef[j] != 0) acc += coef[j] * k[j * n + i];
            Assert.Equal(acc / (1e-9 + 1e-7 * Math.Max(Math.Abs(y[i]), Math.Abs(yNew[i]))), dst[i]);
        }
    }

    [Theory]
    [InlineData(double.NaN)] [InlineData(double.PositiveInfinity)] [InlineData(double.NegativeInfinity)]
    public void AllFiniteFindsABadValueAnywhere(double bad)
    {
        for (int len = 1; len <= 21; len++)
            for (int at = 0; at < len; at++)
            {
                var v = Random(len, len);
                Assert.True(StageCombination.AllFinite<double>(v));
                v[at] = bad;
                Assert.False(StageCombination.AllFinite<double>(v), $"length {len}, position {at}");
                var f = v.Select(x => (float)x).ToArray();
                Assert.False(StageCombination.AllFinite<float>(f));
            }
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(1e-3)]
    public void ANonFiniteRowLeavesTheLockstepWithTheSameResultsAsTheRowByRowPath(double tBad)
    {
        // Row 1's derivative turns NaN after tBad. The lockstep path must hand over to the row-wise one with the same
        // per-row counts, statuses and outputs as a solve that was row-wise throughout (a never-firing event forces that).
        var times = Grid.Linspace(0, 2, 9);
        var a = Ode.Solve(new NaNRow(tBad), [1.0, 1.0, 1.0], times);
        var b = Ode.Solve(new NaNRow(tBad), [1.0, 1.0, 1.0], times, new SolveOptions<double> { Events = [(t, y) => 1.0] });
        Assert.Equal(b.Status, a.Status);
        Assert.Equal(b.OutputsReached, a.OutputsReached);
        Assert.Equal(b.RowStats, a.RowStats);
        Assert.Equal(b.Stats, a.Stats);
        Assert.Equal(b.States, a.States); // NaN equals NaN here
        Assert.Equal(b.FinalTime, a.FinalTime);
        Assert.NotEqual(SolveStatus.Success, a.Status[1]);
        Assert.True(double.IsNaN(a.State(8, 1)[0]));
    }

    private readonly struct NaNRow(double tBad) : IOdeRhs<double>
    {
        public int StateSize => 1;
        public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch)
        {
            for (int b = 0; b < batch; b++) dy[b] = b == 1 && t[b] > tBad ? double.NaN : -y[b];
        }
    }
}
