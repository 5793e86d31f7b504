namespace OdeDsl.Tests.Sensitivity;

/// <summary>The entry point rejects bad input with a message that says what is wrong.</summary>
public class ValidationTests
{
    private static readonly double[] Y0 = [1.0, 0.8];
    private static readonly double[] Times = [0.0, 0.5, 1.0];

    [Fact]
    public void RejectsThetaOfTheWrongLength()
    {
        var ex = Assert.Throws<ArgumentException>(() => Ode.Forward<LotkaVolterra, double>(Y0, Times, new double[3], OdeDsl.Sensitivity.Backprop));
        Assert.Contains("4 parameters", ex.Message);
    }

    [Fact]
    public void RejectsAStateThatIsNotAMultipleOfStateSize()
    {
        var ex = Assert.Throws<ArgumentException>(() => Ode.Forward<LotkaVolterra, double>(new double[3], Times, LotkaVolterra.DefaultTheta, OdeDsl.Sensitivity.Adjoint()));
        Assert.Contains("StateSize", ex.Message);
    }

    [Theory]
    [InlineData(new[] { 0.0, 1.0, 0.5 })]
    [InlineData(new[] { 0.0, 0.0 })]
    [InlineData(new[] { 0.0 })]
    [InlineData(new[] { 0.0, double.NaN })]
    public void RejectsOutputTimesThatAreNotStrictlyMonotonic(double[] times)
    {
        Assert.Throws<ArgumentException>(() => Ode.Forward<LotkaVolterra, double>(Y0, times, LotkaVolterra.DefaultTheta, OdeDsl.Sensitivity.Adjoint()));
    }

    [Fact]
    public void RejectsPerSampleStepsAndFinalOnlyOutput()
    {
        var perSample = new SolveOptions<double> { StepMode = BatchStepMode.PerSample };
        Assert.Throws<NotSupportedException>(() => Ode.Forward<LotkaVolterra, double>(Y0, Times, LotkaVolterra.DefaultTheta, OdeDsl.Sensitivity.Adjoint(), perSample));
        var finalOnly = new SolveOptions<double> { Output = OutputMode.FinalOnly };
        Assert.Throws<NotSupportedException>(() => Ode.Forward<LotkaVolterra, double>(Y0, Times, LotkaVolterra.DefaultTheta, OdeDsl.Sensitivity.Backprop, finalOnly));
    }

    [Fact]
    public void RejectsAFixedStepBackwardMethodWithoutAStepSize()
    {
        var dL = new double[Times.Length * 2];
        var mode = OdeDsl.Sensitivity.Adjoint(new AdjointOptions { Method = Methods.Rk4 });
        var ex = Assert.Throws<ArgumentException>(() => Ode.Gradient<LotkaVolterra, double>(Y0, Times, LotkaVolterra.DefaultTheta, dL, mode));
        Assert.Contains("FixedStep", ex.Message);
    }

    [Fact]
    public void RejectsFewerThanOneCheckpoint()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => OdeDsl.Sensitivity.CheckpointedAdjoint(0));
    }

    [Fact]
    public void ThetaIsCopiedAtForwardSoLaterUpdatesDoNotSkewTheGradient()
    {
        var theta = LotkaVolterra.DefaultTheta;
        var dL = new double[Times.Length * 2];
        dL[^1] = 1;
        var expected = Ode.Gradient<LotkaVolterra, double>(Y0, Times, theta, dL, OdeDsl.Sensitivity.Backprop);
        var fwd = Ode.Forward<LotkaVolterra, double>(Y0, Times, theta, OdeDsl.Sensitivity.Backprop);
        theta[0] += 1;   // an optimiser step between forward and backward
        Assert.Equal(expected.Theta, fwd.Backward(dL).Theta);
    }
}
