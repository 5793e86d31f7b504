namespace OdeDsl.Tests.Solvers;

public class TorchdiffeqAgreementTests
{
    // torchdiffeq 0.2.5, dopri5, rtol 1e-7, atol 1e-9, float64, y0 = [2, 0], 1000 output times on [0, 25]
    // (shared/reference/README.md): 2450 evaluations including the 2 of initial-step selection, 329 accepted, 79 rejected.
    [Fact]
    public void Dopri5_OnTheSpiralTrueField_TakesTorchdiffeqsSteps()
    {
        var sol = Ode.Solve(new SpiralField(), [2.0, 0.0], Grid.Linspace(0, 25, 1000));
        Assert.True(sol.Succeeded);
        Assert.Equal(329, sol.Stats.AcceptedSteps);
        Assert.Equal(79, sol.Stats.RejectedSteps);
        Assert.Equal(2450, sol.Stats.FunctionEvaluations);
    }
}
