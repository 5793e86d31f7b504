namespace OdeDsl.Tests.Sensitivity;

/// <summary>The adjoint's own tolerances govern the backward solve only.</summary>
public class AdjointOptionsTests
{
    [Fact]
    public void LooserBackwardTolerancesTakeFewerBackwardEvaluationsAndLeaveTheForwardAlone()
    {
        var problem = GradientAgreementTests.Problem.Create(GradientAgreementTests.SystemKind.Mlp, allTimes: true, reverse: false);
        var options = new SolveOptions<double> { RelTol = 1e-10, AbsTol = 1e-10 };
        var tight = problem.Gradient(OdeDsl.Sensitivity.Adjoint(), options);
        var loose = problem.Gradient(OdeDsl.Sensitivity.Adjoint(new AdjointOptions { RelTol = 1e-5, AbsTol = 1e-7 }), options);

        Assert.Equal(tight.Forward, loose.Forward);
        Assert.True(loose.Backward.FunctionEvaluations < tight.Backward.FunctionEvaluations,
            $"loose {loose.Backward.FunctionEvaluations} vs tight {tight.Backward.FunctionEvaluations}");
        double error = Reference.RelativeError(loose.Theta, tight.Theta);
        Assert.InRange(error, 1e-12, 1e-2);   // looser, so visibly different, but still a gradient of the same problem
    }
}
