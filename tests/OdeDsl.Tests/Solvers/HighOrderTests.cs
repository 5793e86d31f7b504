namespace OdeDsl.Tests.Solvers;

/// <summary>dopri8 (DOP853) and the tableaus' own interpolants: orders, costs, tolerance on standard problems.</summary>
public class HighOrderTests
{
    private static ButcherTableau Dopri8 => Methods.Dopri8.Tableau;

    // The main (order 8) and fifth-order embedded solutions are measured with every other tableau in ConvergenceTests.
    [Fact]
    public void Dopri8_ThirdOrderCompanionHasOrderThree()
    {
        var b3 = Dopri8.B.Select((b, i) => b - Dopri8.BErrorLow![i]).ToArray();
        var tab = new ButcherTableau("dopri8-embedded3", Dopri8.C, Dopri8.A, b3, null, 3, 0);
        Assert.InRange(ConvergenceTests.MeasuredOrder(tab, 3), 2.8, 3.2);
    }

    [Fact]
    public void Dopri8_OrderConditionsAndDenseStagesAreConsistent()
    {
        var t = Dopri8;
        Assert.False(t.Fsal);
        Assert.Equal(12, t.Stages);
        Assert.Equal(16, t.DenseSlots);
        Assert.True(t.OrderConditionResidual(t.B, 4) < 1e-14);
        Assert.True(t.OrderConditionResidual(t.BHat!, 4) < 1e-14);
        // The interpolant starts at y_n and ends at y_{n+1}: b_i(0) = 0, b_i(1) = b_i (and 0 for the extra slots).
        var w = new double[t.DenseSlots];
        t.InterpolationWeights(0, w);
        Assert.All(w, x => Assert.Equal(0, x, 15));
        t.InterpolationWeights(1, w);
        for (int i = 0; i < w.Length; i++) Assert.Equal(i < t.Stages ? t.B[i] : 0, w[i], 13);
    }

    [Fact]
    public void Dopri8_CostsTwelveEvaluationsPerAcceptedStepAndElevenPerRejected()
    {
        // Only the final time is asked for, so no step is interpolated and the three dense stages are never taken.
        var sol = Ode.Solve(new SinExp(), [1.0], [0.0, 10.0], new SolveOptions<double> { Method = Methods.Dopri8, FirstStep = 2.0, RelTol = 1e-10, AbsTol = 1e-10 });
        Assert.True(sol.Stats.RejectedSteps > 0 && sol.Stats.AcceptedSteps > 5);
        Assert.Equal(1 + 12 * sol.Stats.AcceptedSteps + 11 * sol.Stats.RejectedSteps, sol.Stats.FunctionEvaluations);
    }

    [Fact]
    public void Dopri8_TakesTheDenseStagesOnlyForInterpolatedSteps()
    {
        var opts = new SolveOptions<double> { Method = Methods.Dopri8, RelTol = 1e-9, AbsTol = 1e-9 };
        var finalOnly = Ode.Solve(new Oscillator(), [1.0, 0.0], [0.0, 10.0], opts);
        var grid = Ode.Solve(new Oscillator(), [1.0, 0.0], Grid.Linspace(0, 10, 1001), opts);
        // Same steps (output times never shorten steps); every step has output times inside, so 3 more calls each.
        Assert.Equal(finalOnly.Stats.AcceptedSteps, grid.Stats.AcceptedSteps);
        Assert.Equal(finalOnly.Stats.FunctionEvaluations + 3 * grid.Stats.AcceptedSteps, grid.Stats.FunctionEvaluations);
    }

    /// <summary>One step of size h from 0 on y' = y cos t; the interpolant's error at θ = 0.3 must scale like h^5
    /// (local error of an order-4 interpolant). Cubic Hermite would give h^4 here.</summary>
    [Theory]
    [InlineData("dopri5")]
    [InlineData("tsit5")]
    public void OwnInterpolant_HasOrderFour(string name)
    {
        double Err(double h)
        {
            var sol = Ode.Solve(new SinExp(), [1.0], [0.0, 0.3 * h, h],
                new SolveOptions<double> { Method = Methods.ByName(name), FirstStep = h, RelTol = 1, AbsTol = 1 });
            Assert.Equal(1, sol.Stats.AcceptedSteps);
            return Math.Abs(sol.State(1, 0)[0] - Math.Exp(Math.Sin(0.3 * h)));
        }
        Assert.InRange(Math.Log2(Err(0.2) / Err(0.1)), 4.8, 5.2);
    }

    /// <summary>dopri8's interpolant has order 7, so one step's error at θ = 0.5 scales like h^8. On the oscillator the
    /// ratio is clean (8.01 at h = 0.4 → 0.2); on the e = 0.3 Kepler orbit the h^9 term still shows at the step sizes
    /// where the error stays above round-off (8.3 at h = 0.2 → 0.1), so there only the lower bound is tight.</summary>
    [Fact]
    public void Dopri8Interpolant_HasOrderSeven()
    {
        var opts = (double h) => new SolveOptions<double> { Method = Methods.Dopri8, FirstStep = h, RelTol = 1, AbsTol = 1 };
        double OscErr(double h) => Math.Abs(Ode.Solve(new Oscillator(), [1.0, 0.0], [0.0, 0.5 * h, h], opts(h)).State(1, 0)[0] - Math.Cos(0.5 * h));
        Assert.InRange(Math.Log2(OscErr(0.4) / OscErr(0.2)), 7.8, 8.2);

        const double e = 0.3;
        double[] y0 = [1 - e, 0, 0, Math.Sqrt((1 + e) / (1 - e))];
        double KeplerErr(double h)
        {
            var sol = Ode.Solve(new TwoBody(), y0, [0.0, 0.5 * h, h], opts(h));
            Assert.Equal(1, sol.Stats.AcceptedSteps);
            var tight = Ode.Solve(new TwoBody(), y0, [0.0, 0.5 * h], new SolveOptions<double> { Method = Methods.Dopri8, RelTol = 1e-14, AbsTol = 1e-14 });
            double err = 0;
            for (int i = 0; i < 4; i++) err = Math.Max(err, Math.Abs(sol.State(1, 0)[i] - tight.State(1, 0)[i]));
            return err;
        }
        Assert.InRange(Math.Log2(KeplerErr(0.2) / KeplerErr(0.1)), 7.8, 8.6);
    }

    /// <summary>Dense output between steps against a tight-tolerance dopri8 solution on a nonlinear problem.</summary>
    [Theory]
    [InlineData("tsit5", 1e-8, 2e-6)]
    [InlineData("dopri8", 1e-10, 2e-8)]
    public void DenseOutputMatchesTightSolutionBetweenSteps(string name, double tol, double bound)
    {
        var times = Grid.Linspace(0, 10, 401);
        var sol = Ode.Solve(new VanDerPol(), [2.0, 0.0], times, new SolveOptions<double> { Method = Methods.ByName(name), RelTol = tol, AbsTol = tol });
        var tight = Ode.Solve(new VanDerPol(), [2.0, 0.0], times, new SolveOptions<double> { Method = Methods.Dopri8, RelTol = 1e-13, AbsTol = 1e-13 });
        Assert.True(sol.Stats.AcceptedSteps < 200, $"{sol.Stats.AcceptedSteps} steps"); // steps were not cut at the 401 outputs
        double worst = 0;
        for (int i = 0; i < times.Length; i++)
            for (int j = 0; j < 2; j++) worst = Math.Max(worst, Math.Abs(sol.State(i, 0)[j] - tight.State(i, 0)[j]));
        Assert.True(worst < bound, $"worst {worst}");
    }

    [Fact]
    public void Dopri8_TwoBodyReturnsAfterOnePeriod()
    {
        const double e = 0.5;
        double[] y0 = [1 - e, 0, 0, Math.Sqrt((1 + e) / (1 - e))];
        var sol = Ode.Solve(new TwoBody(), y0, [0.0, 2 * Math.PI], new SolveOptions<double> { Method = Methods.Dopri8, RelTol = 1e-10, AbsTol = 1e-10 });
        Assert.True(sol.Succeeded);
        for (int i = 0; i < 4; i++) Assert.True(Math.Abs(sol.State(1, 0)[i] - y0[i]) < 1e-8, $"component {i}: {sol.State(1, 0)[i]} vs {y0[i]}");
    }

    [Fact]
    public void Dopri8_LotkaVolterraConservesItsInvariant()
    {
        var times = Grid.Linspace(0, 20, 41);
        var sol = Ode.Solve(new LotkaVolterra(), [1.0, 1.0], times, new SolveOptions<double> { Method = Methods.Dopri8, RelTol = 1e-9, AbsTol = 1e-9 });
        double v0 = LotkaVolterra.Invariant(1, 1);
        for (int i = 0; i < times.Length; i++)
            Assert.True(Math.Abs(LotkaVolterra.Invariant(sol.State(i, 0)[0], sol.State(i, 0)[1]) - v0) < 1e-7, $"t = {times[i]}");
    }

    [Fact]
    public void Dopri8_PerSampleRowsInterpolateWithTheirOwnSteps()
    {
        // Rows with different rates take different steps; outputs inside each row's steps use that row's dense stages.
        var times = Grid.Linspace(0, 2, 21);
        var sol = Ode.Solve(new Decay<double>(-1.0), [1.0, 1.0, 1.0], times,
            new SolveOptions<double> { Method = Methods.Dopri8, StepMode = BatchStepMode.PerSample, RelTol = 1e-10, AbsTol = 1e-12 });
        Assert.True(sol.Succeeded);
        Assert.NotEqual(sol.RowStats[0].AcceptedSteps, sol.RowStats[2].AcceptedSteps);
        for (int b = 0; b < 3; b++)
            for (int i = 0; i < times.Length; i++)
                Assert.True(Math.Abs(sol.State(i, b)[0] - Math.Exp(-(b + 1) * times[i])) < 1e-9, $"row {b} t = {times[i]}");
    }

    [Fact]
    public void Dopri8_StepLoopWithDenseStagesDoesNotAllocate()
    {
        // An event that never fires makes every accepted step take the three dense stages and check for a crossing.
        var o = new SolveOptions<double> { Method = Methods.Dopri8, Events = [(t, y) => y[0] + 10], RelTol = 1e-10, AbsTol = 1e-10 };
        Ode.Solve(new Oscillator(), [1.0, 0.0], Grid.Linspace(0, 1, 11), o); // JIT warm-up
        long Bytes(double tEnd, out long steps, out long nfe)
        {
            var times = Grid.Linspace(0, tEnd, 11);
            var s = Ode.Solve(new Oscillator(), [1.0, 0.0], times, o);
            steps = s.Stats.AcceptedSteps; nfe = s.Stats.FunctionEvaluations;
            return AllocationAssert.Fewest(() => Ode.Solve(new Oscillator(), [1.0, 0.0], times, o));
        }
        long shortBytes = Bytes(1, out long shortSteps, out _), longBytes = Bytes(1000, out long longSteps, out long longNfe);
        Assert.True(longSteps > 50 * shortSteps);
        Assert.True(longNfe >= 15 * longSteps); // 12 per step plus the 3 dense stages
        Assert.True(longBytes - shortBytes < 256, $"{shortBytes} B for {shortSteps} steps vs {longBytes} B for {longSteps} steps");
    }

    [Fact]
    public void Dopri8_WorksInSinglePrecision()
    {
        var times = new[] { 0f, 0.25f, 0.5f, 1f };
        var sol = Ode.Solve(new Decay<float>(-1f), [1f], times, new SolveOptions<float> { Method = Methods.Dopri8, RelTol = 1e-5f, AbsTol = 1e-6f });
        Assert.True(sol.Succeeded);
        for (int i = 0; i < times.Length; i++) Assert.True(MathF.Abs(sol.State(i, 0)[0] - MathF.Exp(-times[i])) < 1e-5f, $"t = {times[i]}");
    }

    [Fact]
    public void Dopri8_EventIsLocatedOnTheSeventhOrderInterpolant()
    {
        var opts = new SolveOptions<double> { Method = Methods.Dopri8, Events = [(t, y) => y[0]], RelTol = 1e-10, AbsTol = 1e-10, EventTolerance = 1e-12 };
        var sol = Ode.Solve(new Falling(), [10.0, 0], [0.0, 100.0], opts);
        Assert.Equal(SolveStatus.EventFired, sol.Status[0]);
        Assert.True(Math.Abs(sol.FinalTime[0] - Math.Sqrt(2 * 10 / 9.81)) < 1e-10);
    }
}

/// <summary>Backprop reads dopri8's 16 kept slots (stages, f(t_{n+1}), dense stages) and its degree-7 interpolant,
/// and tsit5's own interpolant: the tape must reproduce the solver's outputs either from the kept stages or replayed.</summary>
public class HighOrderBackpropTests
{
    [Theory]
    [InlineData("dopri8")]
    [InlineData("tsit5")]
    public void TapeReproducesTheSolversOutputs(string name)
    {
        var problem = OdeDsl.Tests.Sensitivity.GradientAgreementTests.Problem.Create(
            OdeDsl.Tests.Sensitivity.GradientAgreementTests.SystemKind.Mlp, allTimes: true, reverse: true);
        var options = new SolveOptions<double> { Method = Methods.ByName(name), RelTol = 1e-6, AbsTol = 1e-8 };
        foreach (var mode in new[] { OdeDsl.Sensitivity.Backprop, BackpropSensitivity.Replaying })
        {
            var forward = Ode.Forward<OdeDsl.Tests.Sensitivity.MlpField, double>(problem.Y0, problem.Times, problem.Theta, mode, options);
            var replayed = BackpropSensitivity.TapeStates(forward);
            Assert.True(OdeDsl.Tests.Sensitivity.Reference.RelativeError(replayed, forward.Solution.States) <= 1e-13, mode.ToString());
        }
        var kept = Ode.Gradient<OdeDsl.Tests.Sensitivity.MlpField, double>(problem.Y0, problem.Times, problem.Theta, problem.Weights, OdeDsl.Sensitivity.Backprop, options);
        var replay = Ode.Gradient<OdeDsl.Tests.Sensitivity.MlpField, double>(problem.Y0, problem.Times, problem.Theta, problem.Weights, BackpropSensitivity.Replaying, options);
        Assert.True(OdeDsl.Tests.Sensitivity.Reference.RelativeError(replay.Theta, kept.Theta) <= 1e-13);
    }
}
