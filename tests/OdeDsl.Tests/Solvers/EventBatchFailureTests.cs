namespace OdeDsl.Tests.Solvers;

internal struct Falling : IOdeRhs<double>
{
    public readonly int StateSize => 2; // height, velocity
    public readonly void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch)
    {
        for (int b = 0; b < batch; b++) { dy[2 * b] = y[2 * b + 1]; dy[2 * b + 1] = -9.81; }
    }
}

internal struct NaNAfter(double tBad) : IOdeRhs<double>
{
    public readonly int StateSize => 1;
    public readonly void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch)
    {
        for (int b = 0; b < batch; b++) dy[b] = t[b] > tBad ? double.NaN : 1;
    }
}

internal struct BlowUp : IOdeRhs<double>
{
    public readonly int StateSize => 1;
    public readonly void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch)
    {
        for (int b = 0; b < batch; b++) dy[b] = y[b] * y[b]; // y = 1/(1 − t): singular at t = 1
    }
}

public class EventTests
{
    [Fact]
    public void BouncingBall_ImpactTimesMatchClosedForm()
    {
        const double g = 9.81, h0 = 10, restitution = 0.8;
        var opts = new SolveOptions<double> { Events = [(t, y) => y[0]], RelTol = 1e-10, AbsTol = 1e-10, EventTolerance = 1e-12 };
        double t = 0; double[] y = [h0, 0];
        double expected = Math.Sqrt(2 * h0 / g), v = Math.Sqrt(2 * g * h0);
        for (int bounce = 0; bounce < 3; bounce++)
        {
            var sol = Ode.Solve(new Falling(), y, [t, t + 100], opts);
            Assert.Equal(SolveStatus.EventFired, sol.Status[0]);
            Assert.Equal(0, sol.EventIndex[0]);
            Assert.True(Math.Abs(sol.FinalTime[0] - expected) < 1e-9, $"bounce {bounce}: {sol.FinalTime[0]} vs {expected}");
            Assert.True(Math.Abs(sol.FinalState(0)[0]) < 1e-8);
            t = sol.FinalTime[0];
            y = [0, -restitution * sol.FinalState(0)[1]];
            v *= restitution;
            expected += 2 * v / g;
        }
    }

    [Fact]
    public void OutputsAfterTheEventStayUnreached()
    {
        var sol = Ode.Solve(new Falling(), [10.0, 0], Grid.Linspace(0, 5, 11), new SolveOptions<double> { Events = [(t, y) => y[0]] });
        Assert.Equal(SolveStatus.EventFired, sol.Status[0]);
        Assert.Equal(3, sol.OutputsReached[0]); // t = 0, 0.5, 1 come before the impact at √(20/9.81) ≈ 1.428
        Assert.True(double.IsNaN(sol.State(3, 0)[0]));
    }
}

public class BatchTests
{
    [Fact]
    public void PerSampleRowsTakeTheirOwnSteps()
    {
        double[] y0 = [1, 1, 1];
        var o = new SolveOptions<double> { StepMode = BatchStepMode.PerSample, RelTol = 1e-8, AbsTol = 1e-10 };
        var sol = Ode.Solve(new Decay<double>(-1.0), y0, [0.0, 1.0, 2.0], o);
        Assert.True(sol.Succeeded);
        for (int b = 0; b < 3; b++)
            for (int i = 1; i < 3; i++)
                Assert.True(Math.Abs(sol.State(i, b)[0] - Math.Exp(-(b + 1) * i)) < 1e-7);
        Assert.True(sol.RowStats[0].AcceptedSteps < sol.RowStats[2].AcceptedSteps);
        // Each row alone takes the same steps as solved by itself with its own rate.
        var alone = Ode.Solve(new Decay<double>(-1.0), [1.0], [0.0, 1.0, 2.0], new SolveOptions<double> { RelTol = 1e-8, AbsTol = 1e-10 });
        Assert.Equal(alone.Stats.AcceptedSteps, sol.RowStats[0].AcceptedSteps);
        Assert.Equal(alone.Stats.RejectedSteps, sol.RowStats[0].RejectedSteps);
    }

    [Fact]
    public void SharedModeUsesOneStepSequence()
    {
        var sol = Ode.Solve(new Decay<double>(-1.0), [1.0, 1.0], [0.0, 1.0]);
        Assert.Equal(sol.RowStats[0], sol.RowStats[1]);
        Assert.True(Math.Abs(sol.State(1, 1)[0] - Math.Exp(-2)) < 1e-7);
    }

    [Fact]
    public void FloatWorks()
    {
        var sol = Ode.Solve(new Decay<float>(-1f), [1f], [0f, 1f], new SolveOptions<float> { RelTol = 1e-5f, AbsTol = 1e-6f });
        Assert.True(sol.Succeeded);
        Assert.True(MathF.Abs(sol.State(1, 0)[0] - MathF.Exp(-1)) < 1e-4f);
    }

    [Fact]
    public void FixedStepMethodsInterpolateToOutputTimes()
    {
        var times = Grid.Linspace(0, 2, 7);
        var sol = Ode.Solve(new Oscillator(), [1.0, 0.0], times, new SolveOptions<double> { Method = Methods.Rk4, FixedStep = 0.01 });
        Assert.InRange(sol.Stats.AcceptedSteps, 200, 201);
        for (int i = 0; i < times.Length; i++) Assert.True(Math.Abs(sol.State(i, 0)[0] - Math.Cos(times[i])) < 1e-7);
    }

    [Fact]
    public void StepLoopDoesNotAllocate()
    {
        var o = new SolveOptions<double> { Output = OutputMode.FinalOnly, RelTol = 1e-10, AbsTol = 1e-10 };
        Ode.Solve(new Oscillator(), [1.0, 0.0], [0.0, 1.0], o); // JIT warm-up
        long Bytes(double tEnd, out long steps)
        {
            steps = Ode.Solve(new Oscillator(), [1.0, 0.0], [0.0, tEnd], o).Stats.AcceptedSteps;
            return AllocationAssert.Fewest(() => Ode.Solve(new Oscillator(), [1.0, 0.0], [0.0, tEnd], o));
        }
        long shortBytes = Bytes(1, out long shortSteps), longBytes = Bytes(1000, out long longSteps);
        Assert.True(longSteps > 50 * shortSteps);
        Assert.True(longBytes - shortBytes < 256, $"{shortBytes} B for {shortSteps} steps vs {longBytes} B for {longSteps} steps");
    }
}

public class FailureTests
{
    [Fact]
    public void MaxStepsIsReportedWithThePartialSolution()
    {
        var times = Grid.Linspace(0, 10, 101);
        var sol = Ode.Solve(new Oscillator(), [1.0, 0.0], times, new SolveOptions<double> { MaxSteps = 5 });
        Assert.Equal(SolveStatus.MaxStepsReached, sol.Status[0]);
        Assert.False(sol.Succeeded);
        int reached = sol.OutputsReached[0];
        Assert.InRange(reached, 1, 100);
        Assert.True(Math.Abs(sol.State(reached - 1, 0)[0] - Math.Cos(times[reached - 1])) < 1e-6);
        Assert.True(double.IsNaN(sol.State(reached, 0)[0]));
        Assert.True(sol.FinalTime[0] > 0 && sol.FinalTime[0] < 10);
    }

    [Fact]
    public void NonFiniteStateIsReported()
    {
        var sol = Ode.Solve(new NaNAfter(0.5), [0.0], [0.0, 1.0]);
        Assert.Equal(SolveStatus.NonFiniteState, sol.Status[0]);
        Assert.True(sol.FinalTime[0] <= 0.5);
    }

    [Fact]
    public void SingularityGivesStepSizeUnderflow()
    {
        var sol = Ode.Solve(new BlowUp(), [1.0], [0.0, 2.0], new SolveOptions<double> { MinStep = 1e-8 });
        Assert.Equal(SolveStatus.StepSizeUnderflow, sol.Status[0]);
        Assert.InRange(sol.FinalTime[0], 0.9, 1.0);
    }

    [Fact]
    public void ThrowOnFailureNamesRowTimeStepAndAdvice()
    {
        var ex = Assert.Throws<OdeSolveException>(() =>
            Ode.Solve(new Oscillator(), [1.0, 0.0, 0.0, 1.0], [0.0, 10.0], new SolveOptions<double> { MaxSteps = 3, ThrowOnFailure = true }));
        Assert.Contains("row 0", ex.Message);
        Assert.Contains("MaxStepsReached", ex.Message);
        Assert.Contains("step size", ex.Message);
        Assert.Contains("MaxSteps", ex.Message);
    }

    [Fact]
    public void FirstStepSelectionNeverLeavesTheInterval()
    {
        var sol = Ode.Solve(new NaNAfter(1e-3), [0.0], [0.0, 1e-3]);
        Assert.Equal(SolveStatus.Success, sol.Status[0]);
        Assert.Equal(1e-3, sol.State(1, 0)[0], 12);
    }
}

public class ValidationTests
{
    private static void Bad(double[] y0, double[] times, SolveOptions<double>? o = null) =>
        Assert.Throws<ArgumentException>(() => Ode.Solve(new Oscillator(), y0, times, o));

    [Fact] public void NonMonotoneTimes() => Bad([1, 0], [0, 1, 0.5]);
    [Fact] public void DuplicateTimes() => Bad([1, 0], [0, 1, 1]);
    [Fact] public void SingleTime() => Bad([1, 0], [0]);
    [Fact] public void Y0NotAMultipleOfStateSize() => Bad([1, 0, 3], [0, 1]);
    [Fact] public void NegativeTolerance() => Bad([1, 0], [0, 1], new SolveOptions<double> { RelTol = -1 });
    [Fact] public void BothTolerancesZero() => Bad([1, 0], [0, 1], new SolveOptions<double> { RelTol = 0, AbsTol = 0 });
    [Fact] public void PerComponentToleranceLength() => Bad([1, 0], [0, 1], new SolveOptions<double> { AbsTolPerComponent = [1e-9] });
    [Fact] public void FixedStepMethodWithoutStep() => Bad([1, 0], [0, 1], new SolveOptions<double> { Method = Methods.Euler });
    [Fact] public void NonFiniteY0() => Bad([double.NaN, 0], [0, 1]);
    [Fact] public void RecordStepsNeedsSharedMode() =>
        Bad([1, 0], [0, 1], new SolveOptions<double> { RecordSteps = true, StepMode = BatchStepMode.PerSample });
    [Fact] public void UnknownMethodName() => Assert.Throws<ArgumentException>(() => Methods.ByName("nope"));
}
