using Xunit.Abstractions;

namespace OdeDsl.Tests.Sensitivity;

/// <summary>
/// Cross-library check on the reference training batch (torchdiffeq 0.2.5, float64, dopri5 rtol 1e-7 atol 1e-9):
/// loss 0.11093524, 20 forward evaluations, 126 augmented backward evaluations, adjoint and backprop gradients
/// within 2.6e-8 of each other.
/// </summary>
public class SpiralReferenceTests(ITestOutputHelper output)
{
        private static (double Loss, double[] DLoss) MeanAbsoluteError(ReadOnlySpan<double> pred)
    {
        var target = SpiralReferenceData.Target;
        var d = new double[pred.Length];
        double sum = 0;
        for (int i = 0; i < pred.Length; i++)
        {
            double e = pred[i] - target[i];
            sum += Math.Abs(e);
            d[i] = Math.Sign(e) / (double)pred.Length;
        }
        return (sum / pred.Length, d);
    }

    [Fact]
    public void AdjointAndBackpropMatchTorchdiffeqOnTheGradBatch()
    {
        var theta = SpiralReferenceData.Theta.ToArray();
        var options = new SolveOptions<double> { RelTol = 1e-7, AbsTol = 1e-9 };
        var adjoint = Ode.Forward<SpiralField, double>(SpiralReferenceData.Y0, SpiralReferenceData.Times, theta, OdeDsl.Sensitivity.Adjoint(), options);
        var (loss, dLoss) = MeanAbsoluteError(adjoint.Solution.States);
        var ga = adjoint.Backward(dLoss);
        var gb = Ode.Gradient<SpiralField, double>(SpiralReferenceData.Y0, SpiralReferenceData.Times, theta, dLoss, OdeDsl.Sensitivity.Backprop, options);
        var gs = Ode.Gradient<SpiralField, double>(SpiralReferenceData.Y0, SpiralReferenceData.Times, theta, dLoss,
            OdeDsl.Sensitivity.Adjoint(new AdjointOptions { Seminorm = true }), options);
        double agreement = Reference.RelativeError(ga.Theta, gb.Theta);
        output.WriteLine($"loss {loss:F8}; forward {ga.Forward.FunctionEvaluations} evaluations ({ga.Forward.AcceptedSteps} accepted / {ga.Forward.RejectedSteps} rejected); " +
            $"adjoint backward {ga.Backward.FunctionEvaluations}, seminorm {gs.Backward.FunctionEvaluations}; " +
            $"backprop forward {gb.Forward.FunctionEvaluations}, backward {gb.Backward.FunctionEvaluations} VJPs; adjoint vs backprop dL/dθ {agreement:E2}");

        Assert.Equal(0.11093524, loss, 8);
        Assert.True(agreement < 1e-6, $"adjoint vs backprop {agreement:E2}");
        Assert.True(gs.Backward.FunctionEvaluations <= ga.Backward.FunctionEvaluations);
        Assert.Equal(20, ga.Forward.FunctionEvaluations);
        Assert.Equal(126, ga.Backward.FunctionEvaluations);
    }

    [Fact]
    public void SinglePrecisionGradBatchWorksAtTheDemosTolerances()
    {
        // rtol 1e-7 is below float's resolution; the solve must still finish and the gradient stay close to double's.
        float[] F(double[] x) => x.Select(v => (float)v).ToArray();
        var options = new SolveOptions<float> { RelTol = 1e-7f, AbsTol = 1e-9f };
        var fwd = Ode.Forward<SpiralField, float>(F(SpiralReferenceData.Y0), F(SpiralReferenceData.Times), F(SpiralReferenceData.Theta), OdeDsl.Sensitivity.Adjoint(), options);
        var target = SpiralReferenceData.Target;
        var dL = new float[target.Length];
        double loss = 0;
        for (int i = 0; i < dL.Length; i++)
        {
            double e = fwd.Solution.States[i] - target[i];
            loss += Math.Abs(e) / dL.Length;
            dL[i] = (float)(Math.Sign(e) / (double)dL.Length);
        }
        var g = fwd.Backward(dL);
        var exact = Ode.Gradient<SpiralField, double>(SpiralReferenceData.Y0, SpiralReferenceData.Times, SpiralReferenceData.Theta.ToArray(),
            dL.Select(v => (double)v).ToArray(), OdeDsl.Sensitivity.Adjoint(), new SolveOptions<double> { RelTol = 1e-7, AbsTol = 1e-9 });
        output.WriteLine($"float: loss {loss:F8}, forward {g.Forward.FunctionEvaluations}, backward {g.Backward.FunctionEvaluations}");
        Assert.Equal(0.11093522, loss, 6);
        Assert.True(Reference.RelativeError(g.Theta.Select(v => (double)v).ToArray(), exact.Theta) <= 1e-4);
    }
}
