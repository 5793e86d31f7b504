using Xunit.Abstractions;

namespace OdeDsl.Tests.Sensitivity;

/// <summary>
/// Backprop is the exact gradient of the numerical solution, for every explicit Runge-Kutta tableau: with a step sequence
/// that does not depend on the inputs (constant steps, output times between grid points so the dense interpolant is
/// differentiated too), dL/dh₀, dL/dθ and dL/dtᵢ at the interior output times must equal central finite differences of the
/// solver's own outputs. (Moving t₀ or t_N also resizes the last, clipped step, which backprop holds fixed: there dL/dt is
/// the interpolant's slope, equal to the derivative of the numerical solution only to the method's order.)
/// This covers FSAL tableaus (dopri5, tsit5, bosh3) and ones whose next-step f is the solver's extra slot (rk4, euler, …):
/// both share one VJP between a step's last stage and the next step's first.
/// </summary>
public class BackpropTableauTests(ITestOutputHelper output)
{
    private const double Step = 0.13;   // no output time (multiples of 0.4) falls on a grid point, where the interpolant is only C¹

    public static TheoryData<string, bool> Cases()
    {
        var data = new TheoryData<string, bool>();
        foreach (string method in new[] { "euler", "midpoint", "heun3", "rk4", "adaptive_heun", "bosh3", "fehlberg2", "dopri5", "tsit5" })
            foreach (bool reverse in new[] { false, true })
                data.Add(method, reverse);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void BackpropEqualsFiniteDifferencesOfTheSolversOutputs(string methodName, bool reverse)
    {
        var method = Methods.ByName(methodName);
        // Adaptive tableaus take constant steps too: every step is accepted under huge tolerances and the growth is capped.
        var options = method.IsAdaptive
            ? new SolveOptions<double> { Method = method, RelTol = 1e6, AbsTol = 1e6, FirstStep = Step, MaxStep = Step }
            : new SolveOptions<double> { Method = method, FixedStep = Step };
        var problem = GradientAgreementTests.Problem.Create(GradientAgreementTests.SystemKind.Mlp, allTimes: true, reverse);
        var actual = Ode.Gradient<MlpField, double>(problem.Y0, problem.Times, problem.Theta, problem.Weights, OdeDsl.Sensitivity.Backprop, options);

        double Loss(double[] y0, double[] times, double[] theta)
            => Reference.Loss(Ode.Solve(new DynamicsRhs<MlpField, double>(theta, 2), y0, times, options).States, problem.Weights);
        var y0 = (double[])problem.Y0.Clone();
        var times = (double[])problem.Times.Clone();
        var theta = (double[])problem.Theta.Clone();
        double[] Fd(double[] x)
        {
            var g = new double[x.Length];
            for (int i = 0; i < x.Length; i++)
            {
                double x0 = x[i], eps = 1e-6;
                x[i] = x0 + eps; double lp = Loss(y0, times, theta);
                x[i] = x0 - eps; double lm = Loss(y0, times, theta);
                x[i] = x0;
                g[i] = (lp - lm) / (2 * eps);
            }
            return g;
        }

        double eY0 = Reference.RelativeError(actual.InitialState, Fd(y0));
        double eTheta = Reference.RelativeError(actual.Theta, Fd(theta));
        double eTimes = Reference.RelativeError(actual.Times.AsSpan(1, times.Length - 2), Fd(times).AsSpan(1, times.Length - 2));
        output.WriteLine($"{methodName}, reverse {reverse}: dL/dh0 {eY0:E2}, dL/dθ {eTheta:E2}, interior dL/dt {eTimes:E2}");
        Assert.True(Math.Max(eY0, Math.Max(eTheta, eTimes)) <= 1e-7, $"{methodName}: dL/dh0 {eY0:E2}, dL/dθ {eTheta:E2}, dL/dt {eTimes:E2}");
    }

    [Fact]
    public void ConsecutiveStepsShareTheVjpOfTheirCommonEvaluation()
    {
        // rk4 with steps of 0.1 and an output inside every step: each step's five stage slots (four stages and the
        // interpolant's f(t_{n+1}, y_{n+1})) all get cotangents. The last slot is the next step's first stage, so 20 steps
        // cost 4·20 + 1 VJPs, not 5·20.
        double[] times = [0.0, .. Enumerable.Range(0, 20).Select(j => 0.1 * j + 0.05), 2.0];
        var weights = Reference.Weights(times.Length, 4, allTimes: true, seed: 3);
        double[] y0 = [0.6, -0.4, -0.3, 0.9];
        var options = new SolveOptions<double> { Method = Methods.Rk4, FixedStep = 0.1 };
        var g = Ode.Gradient<MlpField, double>(y0, times, MlpField.SeededTheta(7), weights, OdeDsl.Sensitivity.Backprop, options);
        Assert.Equal(20, g.Backward.AcceptedSteps);
        Assert.Equal(4 * 20 + 1, g.Backward.FunctionEvaluations);
    }
}
