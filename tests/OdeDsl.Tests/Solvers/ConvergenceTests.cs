namespace OdeDsl.Tests.Solvers;

/// <summary>Empirical order from the global error with N and 2N fixed steps: y' = y cos t (exact e^{sin t}) at t = 2 for
/// orders below 5; for order 5 one period of a Kepler orbit (on the scalar problem tsit5's principal error nearly
/// vanishes and it measures ≈5.6 until round-off). For order 8 the circular orbit with 20 → 40 steps (errors 3e-9 and
/// 1e-11, far above round-off): on the e = 0.3 orbit dopri8 is still pre-asymptotic (7.5 at 40 → 80 steps) until
/// round-off takes over.</summary>
public class ConvergenceTests
{
    public static TheoryData<string> AllTableaus => new(Methods.RungeKutta.Select(m => m.Name));
    public static TheoryData<string> Embedded => new(Methods.RungeKutta.Where(m => m.IsAdaptive).Select(m => m.Name));

    private static ButcherTableau Tab(string name) => ((RungeKuttaMethod)Methods.ByName(name)).Tableau;

    internal static double MeasuredOrder(ButcherTableau fixedTab, int order)
    {
        int n = order switch { 1 => 800, 2 => 200, 3 => 80, 4 => 40, < 8 => 100, _ => 20 };
        double Err(int steps)
        {
            var o = new SolveOptions<double> { Method = new RungeKuttaMethod(fixedTab), FixedStep = 2.0 / steps, Output = OutputMode.FinalOnly };
            if (order < 5)
                return Math.Abs(Ode.Solve(new SinExp(), [1.0], [0.0, 2.0], o).State(0, 0)[0] - Math.Exp(Math.Sin(2.0)));
            // Fifth order and up: one period of the e = 0.3 Kepler orbit, a system with all elementary differentials.
            double e = order >= 8 ? 0 : 0.3;
            double[] y0 = [1 - e, 0, 0, Math.Sqrt((1 + e) / (1 - e))];
            var o2 = new SolveOptions<double> { Method = o.Method, FixedStep = 2 * Math.PI / steps, Output = OutputMode.FinalOnly };
            var end = Ode.Solve(new TwoBody(), y0, [0.0, 2 * Math.PI], o2).State(0, 0);
            double err = 0;
            for (int i = 0; i < 4; i++) err = Math.Max(err, Math.Abs(end[i] - y0[i]));
            return err;
        }
        double p = Math.Log2(Err(n) / Err(2 * n));
        return p;
    }

    [Theory, MemberData(nameof(AllTableaus))]
    public void MainSolution_ConvergesAtItsOrder(string name)
    {
        var t = Tab(name);
        var fixedTab = new ButcherTableau(t.Name + "-main", t.C, t.A, t.B, null, t.Order, 0);
        Assert.InRange(MeasuredOrder(fixedTab, t.Order), t.Order - 0.2, t.Order + 0.2);
    }

    [Theory, MemberData(nameof(Embedded))]
    public void EmbeddedSolution_ConvergesAtItsOrder(string name)
    {
        var t = Tab(name);
        var fixedTab = new ButcherTableau(t.Name + "-embedded", t.C, t.A, t.BHat!, null, t.EmbeddedOrder, 0);
        Assert.InRange(MeasuredOrder(fixedTab, t.EmbeddedOrder), t.EmbeddedOrder - 0.2, t.EmbeddedOrder + 0.2);
    }

    [Theory, MemberData(nameof(AllTableaus))]
    public void OrderConditionsHold(string name)
    {
        var t = Tab(name);
        Assert.True(t.OrderConditionResidual(t.B, Math.Min(t.Order, 4)) < 1e-14);
        if (t.BHat is { } bh) Assert.True(t.OrderConditionResidual(bh, Math.Min(t.EmbeddedOrder, 4)) < 1e-14);
    }

    [Fact]
    public void TableauConstructorRejectsInconsistentCoefficients()
    {
        Assert.Throws<ArgumentException>(() => new ButcherTableau("bad", [0, 0.5], [[], [0.4]], [0.5, 0.5], null, 2, 0));
        Assert.Throws<ArgumentException>(() => new ButcherTableau("bad", [0, 1], [[], [1]], [0.5, 0.6], null, 2, 0));
        Assert.Throws<ArgumentException>(() => new ButcherTableau("bad", [0, 1], [[], [1]], [0.5, 0.5], [0.1, 0.1], 2, 1));
        // A second error estimate needs the first; dense stages need an interpolant, matching rows and a non-FSAL tableau.
        DenseWeights w = (_, x) => x.Clear();
        Assert.Throws<ArgumentException>(() => new ButcherTableau("bad", [0, 1], [[], [1]], [0.5, 0.5], null, 2, 0, bErrorLow: [0.1, -0.1]));
        Assert.Throws<ArgumentException>(() => new ButcherTableau("bad", [0, 1], [[], [1]], [0.5, 0.5], null, 2, 0, null, denseC: [0.5], denseA: [[0.25, 0.25, 0]]));
        Assert.Throws<ArgumentException>(() => new ButcherTableau("bad", [0, 1], [[], [1]], [0.5, 0.5], null, 2, 0, w, denseC: [0.5], denseA: [[0.25, 0.25]]));
        Assert.Throws<ArgumentException>(() => new ButcherTableau("bad", [0, 1], [[], [1]], [0.5, 0.5], null, 2, 0, w, denseC: [0.5], denseA: [[0.25, 0.5, 0]]));
        Assert.Throws<ArgumentException>(() => new ButcherTableau("bad", [0, 1, 1], [[], [1], [0.5, 0.5]], [0.5, 0.5, 0], null, 2, 0, w, denseC: [0.5], denseA: [[0.25, 0.25, 0, 0]]));
        Assert.Equal(4, new ButcherTableau("ok", [0, 1], [[], [1]], [0.5, 0.5], null, 2, 0, w, denseC: [0.5], denseA: [[0.25, 0.25, 0]]).DenseSlots);
    }

    [Fact]
    public void Dopri5IsFsalAndOthersAreNot()
    {
        Assert.True(Tab("dopri5").Fsal);
        Assert.True(Tab("bosh3").Fsal);
        Assert.False(Tab("rk4").Fsal);
        Assert.False(Tab("fehlberg2").Fsal);
    }
}
