namespace OdeDsl.Tests.Adams;

public class AdamsAllocationTests
{
    private static long Allocated(Func<Solution<double>> solve)
    {
        Assert.True(solve().Succeeded); // JIT and static initialisation first
        return AllocationAssert.Fewest(() => solve());
    }

    [Fact]
    public void AllocationDoesNotGrowWithTheNumberOfSteps()
    {
        double[] y0 = [1.0, 1.0], times = [0.0, 5.0];
        var pece = Methods.AdamsBashforthMoulton(4);
        long few = Allocated(() => Ode.Solve(new Rotation<double>(), y0, times, new SolveOptions<double> { Method = pece, FixedStep = 0.1 }));
        long many = Allocated(() => Ode.Solve(new Rotation<double>(), y0, times, new SolveOptions<double> { Method = pece, FixedStep = 0.001 }));
        Assert.True(many - few < 256, $"fixed step: {few} B for 50 steps, {many} B for 5000 steps");

        long loose = Allocated(() => Ode.Solve(new Rotation<double>(), y0, times, new SolveOptions<double> { Method = Methods.AdaptiveAdams, RelTol = 1e-4, AbsTol = 1e-4 }));
        long tight = Allocated(() => Ode.Solve(new Rotation<double>(), y0, times, new SolveOptions<double> { Method = Methods.AdaptiveAdams, RelTol = 1e-11, AbsTol = 1e-11 }));
        Assert.True(tight - loose < 256, $"adaptive: {loose} B at 1e-4, {tight} B at 1e-11");
    }
}
