using OdeDsl;
using Xunit;

namespace ReadmeExample;

// The usage example of README.md, verbatim apart from the test scaffolding: if this stops compiling or its
// numbers change, README.md must change with it.
public static partial class LotkaVolterra
{
    [OdeDynamics]
    static Vec F([Shape(2)] Vec h, float t, [Param(4)] Vec θ)
    {
        var (x, y) = (h[0], h[1]);
        return Vec.Of(θ[0] * x - θ[1] * x * y,
                     -θ[2] * y + θ[3] * x * y);
    }
}

public class ReadmeExampleTests
{
    [Fact]
    public void ReadmeExampleRunsAndItsGradientMatchesBackprop()
    {
        // --- README begins ---
        double[] theta = [1.5, 1.0, 3.0, 1.0];
        double[] y0 = [1.0, 1.0];
        double[] times = [0.0, 2.5, 5.0];

        // Solve: dopri5, rtol 1e-7, atol 1e-9 unless SolveOptions says otherwise.
        var rhs = new DynamicsRhs<LotkaVolterra.Dynamics, double>(theta, maxBatch: 1);
        Solution<double> solution = Ode.Solve(rhs, y0, times);
        // solution.States is [time, batch, state]; solution.Stats counts evaluations and steps.

        // Differentiate L = sum of the final state with the constant-memory adjoint.
        double[] dLdStates = new double[times.Length * 2];
        dLdStates[^2] = dLdStates[^1] = 1;
        OdeGradients<double> g = Ode.Gradient<LotkaVolterra.Dynamics, double>(y0, times, theta, dLdStates, Sensitivity.Adjoint());
        // g.Theta = dL/dθ, g.InitialState = dL/dh(t₀), g.Times = dL/dtᵢ.
        // --- README ends ---

        Assert.Equal(SolveStatus.Success, solution.Status[0]);
        Assert.Equal(6, solution.States.Length);
        var backprop = Ode.Gradient<LotkaVolterra.Dynamics, double>(y0, times, theta, dLdStates, Sensitivity.Backprop);
        for (int i = 0; i < theta.Length; i++)
            Assert.Equal(backprop.Theta[i], g.Theta[i], Math.Max(1e-5, 1e-5 * Math.Abs(backprop.Theta[i])));
        for (int i = 0; i < 2; i++)
            Assert.Equal(backprop.InitialState[i], g.InitialState[i], Math.Max(1e-5, 1e-5 * Math.Abs(backprop.InitialState[i])));
    }
}
