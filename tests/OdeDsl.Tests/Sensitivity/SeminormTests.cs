using Xunit.Abstractions;

namespace OdeDsl.Tests.Sensitivity;

/// <summary>
/// The seminorm (Kidger, Chen &amp; Lyons, ICML 2021) leaves the a_θ and a_t channels out of the backward solve's error
/// control. On the MLP field with the loss on every output time it takes strictly fewer backward evaluations at each of
/// these tolerances (the counts are deterministic; the test prints them), and the gradient stays within the tolerance of the
/// full-norm one.
/// </summary>
public class SeminormTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1e-6, 1e-8)]
    [InlineData(1e-7, 1e-9)]
    [InlineData(1e-8, 1e-10)]
    public void SeminormSavesBackwardEvaluationsOnTheMlpField(double rtol, double atol)
    {
        var problem = GradientAgreementTests.Problem.Create(GradientAgreementTests.SystemKind.Mlp, allTimes: true, reverse: false);
        var options = new SolveOptions<double> { RelTol = rtol, AbsTol = atol };
        var full = problem.Gradient(OdeDsl.Sensitivity.Adjoint(), options);
        var semi = problem.Gradient(OdeDsl.Sensitivity.Adjoint(new AdjointOptions { Seminorm = true }), options);
        output.WriteLine($"rtol {rtol:E0}: forward {full.Forward.FunctionEvaluations} evaluations; backward {full.Backward.FunctionEvaluations} (full norm) vs {semi.Backward.FunctionEvaluations} (seminorm)");

        Assert.True(semi.Backward.FunctionEvaluations < full.Backward.FunctionEvaluations,
            $"seminorm {semi.Backward.FunctionEvaluations} vs full {full.Backward.FunctionEvaluations} backward evaluations");
        double scale = 1000 * rtol;   // both are accurate to about the tolerance; allow for the error's growth along the solve
        Assert.True(Reference.RelativeError(semi.Theta, full.Theta) <= scale);
        Assert.True(Reference.RelativeError(semi.InitialState, full.InitialState) <= scale);
    }
}
