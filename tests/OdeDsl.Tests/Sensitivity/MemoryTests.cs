using Xunit.Abstractions;

namespace OdeDsl.Tests.Sensitivity;

/// <summary>
/// The adjoint's memory does not depend on the number of steps; backprop's grows linearly with it (the tape).
/// Measured as managed bytes allocated on this thread by one whole gradient (forward + backward) with fixed-step
/// rk4 at 100 and 10,000 steps: everything a call keeps alive was allocated during it, so the allocation total bounds
/// the call's peak managed memory.
/// </summary>
public class MemoryTests(ITestOutputHelper output)
{
    private const int Batch = 4;

    private static long AllocatedBytes(OdeDsl.Sensitivity sensitivity, int steps)
    {
        var rng = new OdeDsl.Training.Rng(3);
        var y0 = new double[Batch * 2];
        for (int i = 0; i < y0.Length; i++) y0[i] = 0.5 + rng.NextDouble();   // populations stay positive
        double[] times = [0.0, 1.0];
        var theta = LotkaVolterra.DefaultTheta;
        var dL = new double[2 * y0.Length];
        for (int i = y0.Length; i < dL.Length; i++) dL[i] = 1;
        var options = new SolveOptions<double> { Method = Methods.Rk4, FixedStep = 1.0 / steps };
        // JIT and static caches out of the count (a short solve instantiates the same code).
        Ode.Gradient<LotkaVolterra, double>(y0, times, theta, dL, sensitivity, new SolveOptions<double> { Method = Methods.Rk4, FixedStep = 0.1 });
        var g = Ode.Gradient<LotkaVolterra, double>(y0, times, theta, dL, sensitivity, options);
        Assert.InRange(g.Forward.AcceptedSteps, steps, steps + steps / 50 + 1);   // a grid (or each checkpoint segment) may end with a sliver step
        return AllocationAssert.Fewest(() => Ode.Gradient<LotkaVolterra, double>(y0, times, theta, dL, sensitivity, options), tries: 2);
    }

    [Fact]
    public void AdjointMemoryDoesNotGrowWithSteps()
    {
        var mode = OdeDsl.Sensitivity.Adjoint();
        long small = AllocatedBytes(mode, 100), large = AllocatedBytes(mode, 10_000);
        output.WriteLine($"{mode}: {small} bytes at 100 steps, {large} bytes at 10,000 steps");
        Assert.True(large <= small + 1024, $"adjoint allocated {small} B at 100 steps but {large} B at 10,000");
    }

    [Fact]
    public void BackpropMemoryGrowsLinearlyWithSteps()
    {
        long small = AllocatedBytes(OdeDsl.Sensitivity.Backprop, 100), large = AllocatedBytes(OdeDsl.Sensitivity.Backprop, 10_000);
        output.WriteLine($"backprop: {small} bytes at 100 steps, {large} bytes at 10,000 steps");
        // The tape holds y_n and 4 stages per step: 5 × batch × 2 doubles = 320 B per step at batch 4.
        long tapePerStep = 5L * Batch * 2 * sizeof(double);
        Assert.True(large - small >= 9_900 * tapePerStep, $"backprop allocated {small} B at 100 steps and {large} B at 10,000");
        Assert.True(large > 50 * small);
        // …and no faster than linearly: the solver's dense output (the tape) keeps y_n and 5 stage slots per step in arrays
        // that double as they fill, so at most about 2 × 2 × 6/5 of the tape size is ever allocated.
        Assert.True(large - small <= 6 * 9_900 * tapePerStep, $"backprop allocated {large - small} B for 9,900 more steps");
    }
}
