namespace OdeDsl.Tests.Sensitivity;

/// <summary>Models default to float: every mode works in single precision and agrees with the double-precision gradient.</summary>
public class SinglePrecisionTests
{
    [Theory]
    [InlineData(GradientAgreementTests.Mode.Backprop)]
    [InlineData(GradientAgreementTests.Mode.Adjoint)]
    [InlineData(GradientAgreementTests.Mode.AdjointSeminorm)]
    [InlineData(GradientAgreementTests.Mode.Checkpointed)]
    public void FloatGradientMatchesDouble(GradientAgreementTests.Mode mode)
    {
        var p = GradientAgreementTests.Problem.Create(GradientAgreementTests.SystemKind.Mlp, allTimes: true, reverse: false);
        var sensitivity = GradientAgreementTests.Sensitivity(mode);
        var exact = p.Gradient(sensitivity, new SolveOptions<double> { RelTol = 1e-10, AbsTol = 1e-10 });
        float[] F(double[] x) => x.Select(v => (float)v).ToArray();
        var g = Ode.Gradient<MlpField, float>(F(p.Y0), F(p.Times), F(p.Theta), F(p.Weights), sensitivity,
            new SolveOptions<float> { RelTol = 1e-5f, AbsTol = 1e-6f });
        Assert.True(Reference.RelativeError(g.Theta.Select(v => (double)v).ToArray(), exact.Theta) <= 1e-3);
        Assert.True(Reference.RelativeError(g.InitialState.Select(v => (double)v).ToArray(), exact.InitialState) <= 1e-3);
    }
}
