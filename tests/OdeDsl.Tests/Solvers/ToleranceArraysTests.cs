namespace OdeDsl.Tests.Solvers;

/// <summary>
/// Uniform tolerances are kept as one number each (not S copies): per-component tolerance arrays that repeat those
/// numbers must give the same solve bit for bit (the initial step's norm, the per-row and the flat scaled error), and
/// arrays that differ must be honoured per component.
/// </summary>
public class ToleranceArraysTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RepeatedPerComponentTolerancesEqualUniformOnesBitForBit(bool shared)
    {
        const int batch = 5;
        var y0 = new double[2 * batch];
        for (int b = 0; b < batch; b++) { y0[2 * b] = 2.0 - 0.2 * b; y0[2 * b + 1] = 0.1 * b; }
        var times = Grid.Linspace(0, 4, 9);
        var mode = shared ? BatchStepMode.Shared : BatchStepMode.PerSample;
        var uniform = new SolveOptions<double> { RelTol = 1e-6, AbsTol = 1e-8, StepMode = mode };
        var perComponent = new SolveOptions<double>
        {
            RelTol = 1e-6, AbsTol = 1e-8, StepMode = mode, RelTolPerComponent = [1e-6, 1e-6], AbsTolPerComponent = [1e-8, 1e-8],
        };
        var a = Ode.Solve(new CubicSpiral(), y0, times, uniform);
        var b2 = Ode.Solve(new CubicSpiral(), y0, times, perComponent);
        Assert.Equal(a.States, b2.States);
        Assert.Equal(a.Stats, b2.Stats);
    }

    [Fact]
    public void ATighterToleranceOnOneComponentTakesMoreSteps()
    {
        double[] y0 = [2.0, 0.0];
        var times = Grid.Linspace(0, 4, 2);
        var loose = new SolveOptions<double> { RelTol = 1e-4, AbsTol = 1e-6 };
        var tight = new SolveOptions<double> { RelTol = 1e-4, AbsTol = 1e-6, RelTolPerComponent = [1e-4, 1e-9], AbsTolPerComponent = [1e-6, 1e-11] };
        var a = Ode.Solve(new CubicSpiral(), y0, times, loose);
        var b = Ode.Solve(new CubicSpiral(), y0, times, tight);
        Assert.True(b.Stats.FunctionEvaluations > a.Stats.FunctionEvaluations, $"{b.Stats.FunctionEvaluations} vs {a.Stats.FunctionEvaluations}");
    }
}
