using System.Numerics;

namespace OdeDsl.Tests.Adams;

/// <summary>y' = [y₂, −y₁] + forcing-free rotation: y = (cos t + sin t, cos t − sin t) from y(0) = (1, 1). Batched, one t per row.</summary>
internal readonly struct Rotation<T> : IOdeRhs<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public int StateSize => 2;
    public void Evaluate(ReadOnlySpan<T> t, ReadOnlySpan<T> y, Span<T> dy, int batch)
    {
        for (int b = 0; b < batch; b++) { dy[2 * b] = y[2 * b + 1]; dy[2 * b + 1] = -y[2 * b]; }
    }
}

/// <summary>y' = y cos t, y(0) = 1: y = exp(sin t). Non-autonomous, so a wrong stage or step time shows up.</summary>
internal readonly struct Oscillating : IOdeRhs<double>
{
    public int StateSize => 1;
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch)
    {
        for (int b = 0; b < batch; b++) dy[b] = y[b] * Math.Cos(t[b]);
    }
}

public class AdamsConvergenceTests
{
    private const double End = 4.0;

    /// <summary>Max-norm error at t = 4 on the rotation y = (cos t + sin t, cos t − sin t).</summary>
    private static double RotationError(OdeMethod method, double h)
    {
        double[] y0 = [1.0, 1.0], times = [0.0, End];
        var options = new SolveOptions<double> { Method = method, FixedStep = h, Output = OutputMode.FinalOnly };
        var solution = Ode.Solve(new Rotation<double>(), y0, times, options);
        Assert.True(solution.Succeeded);
        var y = solution.State(0, 0);
        return Math.Max(Math.Abs(y[0] - (Math.Cos(End) + Math.Sin(End))), Math.Abs(y[1] - (Math.Cos(End) - Math.Sin(End))));
    }

    private static double OscillatingError(OdeMethod method, double h)
    {
        double[] y0 = [1.0], times = [0.0, End];
        var solution = Ode.Solve(new Oscillating(), y0, times, new SolveOptions<double> { Method = method, FixedStep = h, Output = OutputMode.FinalOnly });
        Assert.True(solution.Succeeded);
        return Math.Abs(solution.State(0, 0)[0] - Math.Exp(Math.Sin(End)));
    }

    private static double MeasuredOrder(OdeMethod method)
    {
        // Steps in the asymptotic range for order 1 yet well above round-off for order 5 (errors ≥ 1e-12).
        double h1 = method.Order >= 4 ? 0.01 : 0.02, h2 = h1 / 2;
        return Math.Log2(RotationError(method, h1) / RotationError(method, h2));
    }

    [Theory]
    [InlineData(1)] [InlineData(2)] [InlineData(3)] [InlineData(4)] [InlineData(5)]
    public void AdamsBashforthConvergesAtItsOrder(int order)
    {
        double measured = MeasuredOrder(Methods.AdamsBashforth(order));
        Assert.InRange(measured, order - 0.2, order + 0.2);
    }

    [Theory]
    [InlineData(1)] [InlineData(2)] [InlineData(3)] [InlineData(4)] [InlineData(5)]
    public void AdamsBashforthMoultonConvergesAtItsOrder(int order)
    {
        double measured = MeasuredOrder(Methods.AdamsBashforthMoulton(order));
        Assert.InRange(measured, order - 0.2, order + 0.2);
    }

    [Fact]
    public void CorrectorIsMoreAccurateThanPredictorAlone()
    {
        Assert.True(RotationError(Methods.AdamsBashforthMoulton(4), 0.05) < RotationError(Methods.AdamsBashforth(4), 0.05) / 3);
    }

    [Theory]
    [InlineData(2)] [InlineData(4)]
    public void NonAutonomousProblemConvergesAtOrder(int order)
    {
        foreach (var method in new[] { Methods.AdamsBashforth(order), Methods.AdamsBashforthMoulton(order) })
        {
            double measured = Math.Log2(OscillatingError(method, 0.02) / OscillatingError(method, 0.01));
            Assert.InRange(measured, order - 0.2, order + 0.2);
        }
    }

    [Fact]
    public void EvaluationCountsMatchTheScheme()
    {
        double[] y0 = [1.0, 1.0], times = [0.0, 1.0];
        var pece = Methods.AdamsBashforthMoulton(4);
        var stats = Ode.Solve(new Rotation<double>(), y0, times, new SolveOptions<double> { Method = pece, FixedStep = 0.1 }).Stats;
        // 1 initial + 3 rk4 start-up steps × 4 + 7 PECE steps × 2.
        Assert.Equal(1 + 3 * 4 + 7 * 2, stats.FunctionEvaluations);
        Assert.Equal(10, stats.AcceptedSteps);
    }

    [Fact]
    public void DenseOutputBackwardInTimeAndBatchedFloat()
    {
        // Two rows, float, integrated backwards through intermediate output times read from the Hermite interpolant.
        float[] y0 = [1f, 1f, 2f, 2f];
        float[] times = [0f, -0.33f, -0.71f, -1f];
        var method = Methods.AdamsBashforthMoulton(4);
        var solution = Ode.Solve(new Rotation<float>(), y0, times, new SolveOptions<float> { Method = method, FixedStep = 0.01f });
        Assert.True(solution.Succeeded);
        for (int k = 0; k < times.Length; k++)
            for (int row = 0; row < 2; row++)
            {
                float scale = row + 1, t = times[k];
                var y = solution.State(k, row);
                Assert.Equal(scale * (MathF.Cos(t) + MathF.Sin(t)), y[0], 1e-4f);
                Assert.Equal(scale * (MathF.Cos(t) - MathF.Sin(t)), y[1], 1e-4f);
            }
    }

    [Fact]
    public void ArgumentErrorsAreReported()
    {
        double[] y0 = [1.0, 1.0];
        var method = Methods.AdamsBashforth(3);
        Assert.Throws<ArgumentOutOfRangeException>(() => Methods.AdamsBashforth(6));
        Assert.Throws<ArgumentException>(() => Ode.Solve(new Rotation<double>(), y0, [0.0, 1.0], new SolveOptions<double> { Method = method }));
        Assert.Throws<ArgumentException>(() => Ode.Solve(new Rotation<double>(), y0, [0.0, 1.0, 1.0], new SolveOptions<double> { Method = method, FixedStep = 0.1 }));
        Assert.Throws<ArgumentException>(() => Ode.Solve(new Rotation<double>(), [1.0, 1.0, 1.0], [0.0, 1.0], new SolveOptions<double> { Method = method, FixedStep = 0.1 }));
    }

    [Fact]
    public void MethodsAreFoundByName()
    {
        Assert.Same(Methods.AdamsBashforth(4), Methods.ByName("adams_bashforth4"));
        Assert.Same(Methods.AdamsBashforthMoulton(2), Methods.ByName("ADAMS_BASHFORTH_MOULTON2"));
    }
}
