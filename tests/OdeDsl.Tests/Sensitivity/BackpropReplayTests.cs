namespace OdeDsl.Tests.Sensitivity;

/// <summary>
/// Backprop differentiates the solver's accepted steps, read from its dense output or replayed with the tableau;
/// either way the tape must reproduce the solver's outputs, and the two paths must give the same gradient.
/// </summary>
public class BackpropReplayTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReplayedOutputsEqualTheSolversOutputs(bool fixedStep)
    {
        var problem = GradientAgreementTests.Problem.Create(GradientAgreementTests.SystemKind.Mlp, allTimes: true, reverse: true);
        var options = fixedStep ? new SolveOptions<double> { Method = Methods.Rk4, FixedStep = 0.05 } : new SolveOptions<double> { RelTol = 1e-6, AbsTol = 1e-8 };
        foreach (var mode in new[] { OdeDsl.Sensitivity.Backprop, BackpropSensitivity.Replaying })
        {
            var forward = Ode.Forward<MlpField, double>(problem.Y0, problem.Times, problem.Theta, mode, options);
            var replayed = BackpropSensitivity.TapeStates(forward);
            Assert.True(Reference.RelativeError(replayed, forward.Solution.States) <= 1e-13, mode.ToString());
        }
        var kept = Ode.Gradient<MlpField, double>(problem.Y0, problem.Times, problem.Theta, problem.Weights, OdeDsl.Sensitivity.Backprop, options);
        var replay = Ode.Gradient<MlpField, double>(problem.Y0, problem.Times, problem.Theta, problem.Weights, BackpropSensitivity.Replaying, options);
        Assert.True(Reference.RelativeError(replay.Theta, kept.Theta) <= 1e-13);
        Assert.True(replay.Forward.FunctionEvaluations > kept.Forward.FunctionEvaluations);   // the replay's evaluations are counted
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
