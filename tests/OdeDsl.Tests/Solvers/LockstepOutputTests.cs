namespace OdeDsl.Tests.Solvers;

/// <summary>ode_demo's true field, dy/dt = (y³)·A, row by row: nonlinear, so interpolated outputs exercise every slot.</summary>
internal struct CubicSpiral : IOdeRhs<double>
{
    public readonly int StateSize => 2;
    public readonly void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch)
    {
        for (int b = 0; b < batch; b++)
        {
            double u = y[2 * b] * y[2 * b] * y[2 * b], v = y[2 * b + 1] * y[2 * b + 1] * y[2 * b + 1];
            dy[2 * b] = -0.1 * u - 2.0 * v;
            dy[2 * b + 1] = 2.0 * u - 0.1 * v;
        }
    }
}

public class LockstepOutputTests
{
    /// <summary>
    /// In shared mode with every row stepping together the solver writes outputs and the state update over whole
    /// blocks; an event that never fires forces the row-by-row path. Both must give the same bits.
    /// </summary>
    [Theory]
    [InlineData("dopri5")]
    [InlineData("tsit5")]
    [InlineData("bosh3")]
    [InlineData("rk4")]
    public void WholeBlockOutputsEqualTheRowByRowPathBitForBit(string method)
    {
        const int batch = 13;
        var y0 = new double[2 * batch];
        for (int b = 0; b < batch; b++) { y0[2 * b] = 2.0 - 0.1 * b; y0[2 * b + 1] = 0.05 * b; }
        var times = Grid.Linspace(0, 5, 301);
        var m = Methods.ByName(method);
        SolveOptions<double> Options(IReadOnlyList<EventFunction<double>>? events) =>
            new() { Method = m, RelTol = 1e-7, AbsTol = 1e-9, FixedStep = m.IsAdaptive ? null : 0.01, Events = events };
        var plain = Options(null);
        var rowByRow = Options([(t, y) => 1.0]);
        var a = Ode.Solve(new CubicSpiral(), y0, times, plain);
        var b2 = Ode.Solve(new CubicSpiral(), y0, times, rowByRow);
        Assert.Equal(b2.Stats.FunctionEvaluations, a.Stats.FunctionEvaluations);
        Assert.Equal(b2.States, a.States);
        Assert.Equal(b2.FinalStates, a.FinalStates);
        Assert.All(a.Status, s => Assert.Equal(SolveStatus.Success, s));
    }

    /// <summary>
    /// With OvershootFinalTime (torchdiffeq's last step past t₁, the state at t₁ from the interpolant; the CNF bench's
    /// setting) the rows also step together, and the block path must equal the row-by-row one bit for bit, outputs,
    /// final states, counts and all, with the last step really past t₁. (Not dopri8: with an event the row path evaluates its
    /// interpolant's extra stages on every step, so its counts differ for that reason alone.)
    /// </summary>
    [Theory]
    [InlineData("dopri5", 2)]
    [InlineData("dopri5", 301)]
    [InlineData("tsit5", 2)]
    [InlineData("tsit5", 301)]
    [InlineData("bosh3", 301)]
    public void AnOvershootingLastStepEqualsTheRowByRowPathBitForBit(string method, int outputs)
    {
        const int batch = 13;
        var y0 = new double[2 * batch];
        for (int b = 0; b < batch; b++) { y0[2 * b] = 2.0 - 0.1 * b; y0[2 * b + 1] = 0.05 * b; }
        var times = Grid.Linspace(0, 5, outputs);
        SolveOptions<double> Options(IReadOnlyList<EventFunction<double>>? events) => new()
        {
            Method = Methods.ByName(method), RelTol = 1e-7, AbsTol = 1e-9, OvershootFinalTime = true, RecordSteps = true, Events = events,
        };
        var a = Ode.Solve(new CubicSpiral(), y0, times, Options(null));
        var b2 = Ode.Solve(new CubicSpiral(), y0, times, Options([(t, y) => 1.0]));
        var last = a.Steps![^1];
        Assert.True(last.Start + last.Size > 5, "the last step did not overshoot t₁");
        Assert.Equal(b2.Stats, a.Stats);
        Assert.Equal(b2.RowStats, a.RowStats);
        Assert.Equal(b2.States, a.States);
        Assert.Equal(b2.FinalStates, a.FinalStates);
        Assert.Equal(b2.FinalTime, a.FinalTime);
        Assert.Equal(b2.LastStepSize, a.LastStepSize);
        Assert.Equal(b2.Steps, a.Steps);
        Assert.All(a.Status, s => Assert.Equal(SolveStatus.Success, s));
    }

    /// <summary>
    /// A block of 700 rows (1400 elements) collects each step's outputs and writes them on two threads; the results must
    /// still equal the row-by-row path's bit for bit, and rows must not leak into each other.
    /// </summary>
    [Theory]
    [InlineData("dopri5")]
    [InlineData("dopri8")]
    public void LargeBlocksWriteOutputsOnTwoThreadsWithTheSameBits(string method)
    {
        const int batch = 700;
        Assert.True(2 * batch >= BlockOutputs<double>.MinBlockElements);
        var y0 = new double[2 * batch];
        for (int b = 0; b < batch; b++) { y0[2 * b] = 2.0 - 0.001 * b; y0[2 * b + 1] = 0.0005 * b; }
        var times = Grid.Linspace(0, 5, 1001); // many outputs per step
        var m = Methods.ByName(method);
        var plain = Ode.Solve(new CubicSpiral(), y0, times, new SolveOptions<double> { Method = m });
        var rowByRow = Ode.Solve(new CubicSpiral(), y0, times, new SolveOptions<double> { Method = m, Events = [(t, y) => 1.0] });
        Assert.Equal(rowByRow.Stats, plain.Stats);
        Assert.Equal(rowByRow.States, plain.States);
        Assert.DoesNotContain(plain.States, double.IsNaN);
    }
}
