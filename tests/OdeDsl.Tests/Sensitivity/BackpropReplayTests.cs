namespace OdeDsl.Tests.Sensitivity;

/// <summary>Backprop differentiates a replay of the solver's accepted steps; the replay must reproduce the solver's outputs.</summary>
public class BackpropReplayTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReplayedOutputsEqualTheSolversOutputs(bool fixedStep)
    {
        var problem = GradientAgreementTests.Problem.Create(GradientAgreementTests.SystemKind.Mlp, allTimes: true, reverse: true);
        var options = fixedStep ? new SolveOptions<double> { Method = Methods.Rk4, FixedStep = 0.05 } : new SolveOptions<double> { RelTol = 1e-6, AbsTol = 1e-8 };
        var forward = Ode.Forward<MlpField, double>(problem.Y0, problem.Times, problem.Theta, OdeDsl.Sensitivity.Backprop, options);
        var replayed = BackpropSensitivity.ReplayedStates(forward);
        Assert.True(Reference.RelativeError(replayed, forward.Solution.States) <= 1e-13);
    }

    [Fact]
    public void BackwardRejectsWronglySizedLossGradients()
    {
        var problem = GradientAgreementTests.Problem.Create(GradientAgreementTests.SystemKind.LotkaVolterra, allTimes: true, reverse: false);
        var forward = Ode.Forward<LotkaVolterra, double>(problem.Y0, problem.Times, problem.Theta, OdeDsl.Sensitivity.Adjoint());
        var ex = Assert.Throws<ArgumentException>(() => forward.Backward(new double[3]));
        Assert.Contains("nTimes × batch × StateSize", ex.Message);
    }
}
