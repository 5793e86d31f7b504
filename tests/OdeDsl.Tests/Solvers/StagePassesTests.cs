namespace OdeDsl.Tests.Solvers;

/// <summary>The lockstep step's block passes on two threads (StagePasses) give the bits of the one-thread passes.</summary>
public class StagePassesTests
{
    [Theory]
    [InlineData("dopri5", 1001)]   // odd block: pieces end off the vector lines
    [InlineData("bosh3", 4096)]
    [InlineData("dopri8", 257)]    // the interpolant's extra stages (EvalDenseStages) at the inner output times
    public void SplitPasses_MatchOneThread_BitForBit(string method, int batch)
    {
        var y0 = new double[2 * batch];
        for (int b = 0; b < batch; b++) { y0[2 * b] = 1 + 0.002 * b; y0[2 * b + 1] = -0.5 + 0.001 * b; }
        var options = new SolveOptions<double> { Method = Methods.ByName(method), RelTol = 1e-7, AbsTol = 1e-7 };
        double[] times = [0.0, 0.3, 0.7, 1.5];
        int saved = StagePasses<double>.MinElements;
        bool enabled = TwoThreadLoop.Enabled;
        Solution<double> split, single;
        try
        {
            TwoThreadLoop.Enabled = true;
            StagePasses<double>.MinElements = 1;
            split = Ode.Solve(new SpiralField(), y0, times, options);
            StagePasses<double>.MinElements = int.MaxValue;
            single = Ode.Solve(new SpiralField(), y0, times, options);
        }
        finally
        {
            StagePasses<double>.MinElements = saved;
            TwoThreadLoop.Enabled = enabled;
        }
        Assert.True(split.Succeeded && single.Succeeded);
        Assert.Equal(single.Stats.FunctionEvaluations, split.Stats.FunctionEvaluations);
        Assert.Equal(single.Stats.AcceptedSteps, split.Stats.AcceptedSteps);
        Assert.Equal(single.States, split.States);
    }

    [Fact]
    public void AllFinite_FindsANaNInAnyPiece()
    {
        bool enabled = TwoThreadLoop.Enabled;
        int saved = StagePasses<float>.MinElements;
        try
        {
            TwoThreadLoop.Enabled = true;
            StagePasses<float>.MinElements = 1;
            int n = 1000;
            var passes = StagePasses<float>.For(n)!;
            var v = new float[n];
            Assert.True(passes.AllFinite(v));
            foreach (int at in new[] { 0, 260, 511, 999 })
            {
                v[at] = float.NaN;
                Assert.False(passes.AllFinite(v));
                v[at] = 0;
            }
        }
        finally
        {
            StagePasses<float>.MinElements = saved;
            TwoThreadLoop.Enabled = enabled;
        }
    }
}
