using OdeDsl;

// README's example, as a user writes it against the OdeDsl package; then checks that the numbers are right.

var failures = new List<string>();
void Check(bool ok, string what)
{
    Console.WriteLine($"{(ok ? "ok  " : "FAIL")} {what}");
    if (!ok) failures.Add(what);
}

// --- README's code ---
double[] theta = [1.5, 1.0, 3.0, 1.0];
double[] y0 = [1.0, 1.0];
double[] times = [0.0, 2.5, 5.0];

var rhs = new DynamicsRhs<LotkaVolterra.Dynamics, double>(theta, maxBatch: 1);
Solution<double> solution = Ode.Solve(rhs, y0, times);

double[] dLdStates = new double[times.Length * 2];
dLdStates[^2] = dLdStates[^1] = 1;
OdeGradients<double> g = Ode.Gradient<LotkaVolterra.Dynamics, double>(y0, times, theta, dLdStates, Sensitivity.Adjoint());
// --- end of README's code ---

Check(LotkaVolterra.Dynamics.StateSize == 2 && LotkaVolterra.Dynamics.ParameterCount == 4, "generated LotkaVolterra.Dynamics: 2 states, 4 parameters");
Check(solution.Status[0] == SolveStatus.Success, $"solve status {solution.Status[0]}");

// Lotka-Volterra conserves V = δx − γ ln x + βy − α ln y (θ = α, β, γ, δ): an independent check of the solve.
double V(double x, double y) => theta[3] * x - theta[2] * Math.Log(x) + theta[1] * y - theta[0] * Math.Log(y);
double v0 = V(y0[0], y0[1]);
for (int i = 1; i < times.Length; i++)
{
    double x = solution.States[i * 2], y = solution.States[i * 2 + 1];
    Check(Math.Abs(V(x, y) - v0) < 1e-5, $"t = {times[i]}: state ({x:F6}, {y:F6}), invariant drift {Math.Abs(V(x, y) - v0):E1}");
}
Check(Math.Abs(solution.States[4] - y0[0]) > 1e-3, "the state moved (not the identity)");

// dL/dθ of L = x(5) + y(5) against central differences of the solve at tight tolerances.
var tight = new SolveOptions<double> { RelTol = 1e-11, AbsTol = 1e-12 };
double Loss(double[] th)
{
    var s = Ode.Solve(new DynamicsRhs<LotkaVolterra.Dynamics, double>(th, maxBatch: 1), y0, times, tight);
    return s.States[^2] + s.States[^1];
}
for (int k = 0; k < theta.Length; k++)
{
    const double eps = 1e-5;
    double[] plus = (double[])theta.Clone(), minus = (double[])theta.Clone();
    plus[k] += eps;
    minus[k] -= eps;
    double fd = (Loss(plus) - Loss(minus)) / (2 * eps);
    double err = Math.Abs(g.Theta[k] - fd) / Math.Max(1, Math.Abs(fd));
    Check(err < 1e-4, $"dL/dθ[{k}] adjoint {g.Theta[k]:F6} vs central difference {fd:F6} (rel. err {err:E1})");
}

Console.WriteLine(failures.Count == 0 ? "package consumer: all checks passed" : $"package consumer: {failures.Count} check(s) failed");
return failures.Count == 0 ? 0 : 1;

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
