namespace OdeDsl.Tests.Adams;

public class AdaptiveAdamsTests
{
    private static (double Error, SolverStats Stats) RotationAt(double tol, double end)
    {
        double[] y0 = [1.0, 1.0], times = [0.0, end];
        var o = new SolveOptions<double> { Method = Methods.AdaptiveAdams, RelTol = tol, AbsTol = tol, Output = OutputMode.FinalOnly };
        var s = Ode.Solve(new Rotation<double>(), y0, times, o);
        Assert.True(s.Succeeded);
        var y = s.State(0, 0);
        return (Math.Max(Math.Abs(y[0] - (Math.Cos(end) + Math.Sin(end))), Math.Abs(y[1] - (Math.Cos(end) - Math.Sin(end)))), s.Stats);
    }

    [Theory]
    [InlineData(1e-4)] [InlineData(1e-7)] [InlineData(1e-10)]
    public void MeetsTheToleranceOnALinearSystem(double tol)
    {
        // Error per step is controlled, so on this neutrally stable system the global error over one period is
        // bounded by the sum of the local tolerances (measured: 24x, 85x, 230x tol with 31, 91, 341 steps).
        var (error, stats) = RotationAt(tol, 2 * Math.PI);
        Assert.True(error < stats.AcceptedSteps * tol, $"error {error:E2} at tol {tol:E0} ({stats})");
    }

    [Fact]
    public void TighterToleranceCostsMoreAndGivesLessError()
    {
        var loose = RotationAt(1e-5, 10);
        var tight = RotationAt(1e-9, 10);
        Assert.True(tight.Error < loose.Error / 100);
        Assert.True(tight.Stats.FunctionEvaluations > loose.Stats.FunctionEvaluations);
    }

    [Fact]
    public void DenseOutputBackwardInTime()
    {
        double[] y0 = [1.0, 1.0];
        double[] times = [0.0, -0.5, -1.7, -3.0];
        var s = Ode.Solve(new Rotation<double>(), y0, times, new SolveOptions<double> { Method = Methods.AdaptiveAdams, RelTol = 1e-9, AbsTol = 1e-9 });
        Assert.True(s.Succeeded);
        for (int k = 0; k < times.Length; k++)
        {
            double t = times[k];
            Assert.Equal(Math.Cos(t) + Math.Sin(t), s.State(k, 0)[0], 1e-6);
            Assert.Equal(Math.Cos(t) - Math.Sin(t), s.State(k, 0)[1], 1e-6);
        }
    }

    [Fact]
    public void NamedAndListedAsAdaptive()
    {
        Assert.Same(Methods.AdaptiveAdams, Methods.ByName("adaptive_adams"));
        Assert.Contains(Methods.AdaptiveAdams, Methods.AllAdaptive);
    }
}
