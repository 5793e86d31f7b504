using OdeDsl.Training;

namespace OdeDsl.Tests.Sensitivity;

/// <summary>
/// An independent reference for gradient tests: classical RK4 with a fixed number of substeps between consecutive
/// output times (so the solution is a smooth function of y₀, θ and every tᵢ) and central finite differences of a
/// linear loss L = Σᵢ wᵢ · h(tᵢ), whose dL/dh(tᵢ) = wᵢ is what the gradient entry point receives.
/// </summary>
internal static class Reference
{
    public static double[] Solve<TDyn>(double[] y0, double[] times, double[] theta, int substeps) where TDyn : IOdeDynamics<TDyn>
    {
        int n = y0.Length, batch = n / TDyn.StateSize;
        var states = new double[times.Length * n];
        var y = (double[])y0.Clone();
        y.CopyTo(states, 0);
        double[] k1 = new double[n], k2 = new double[n], k3 = new double[n], k4 = new double[n], tmp = new double[n], tv = new double[batch];
        var ws = new double[TDyn.WorkspaceLength(batch)];
        void F(double t, double[] state, double[] dst)
        {
            Array.Fill(tv, t);
            TDyn.Evaluate<double>(tv, state, theta, dst, batch, ws);
        }
        for (int i = 1; i < times.Length; i++)
        {
            double h = (times[i] - times[i - 1]) / substeps;
            for (int s = 0; s < substeps; s++)
            {
                double t = times[i - 1] + s * h;
                F(t, y, k1);
                for (int q = 0; q < n; q++) tmp[q] = y[q] + 0.5 * h * k1[q];
                F(t + 0.5 * h, tmp, k2);
                for (int q = 0; q < n; q++) tmp[q] = y[q] + 0.5 * h * k2[q];
                F(t + 0.5 * h, tmp, k3);
                for (int q = 0; q < n; q++) tmp[q] = y[q] + h * k3[q];
                F(t + h, tmp, k4);
                for (int q = 0; q < n; q++) y[q] += h / 6 * (k1[q] + 2 * k2[q] + 2 * k3[q] + k4[q]);
            }
            y.CopyTo(states, i * n);
        }
        return states;
    }

    public static double Loss(double[] states, double[] weights)
    {
        double sum = 0;
        for (int i = 0; i < states.Length; i++) sum += weights[i] * states[i];
        return sum;
    }

    /// <summary>Central differences of the loss with respect to every entry of y₀, θ and the times.</summary>
    public static (double[] Y0, double[] Theta, double[] Times) FiniteDifferences<TDyn>(
        double[] y0, double[] times, double[] theta, double[] weights, int substeps, double eps = 1e-5) where TDyn : IOdeDynamics<TDyn>
    {
        double L() => Loss(Solve<TDyn>(y0, times, theta, substeps), weights);
        double[] Grad(double[] x)
        {
            var g = new double[x.Length];
            for (int i = 0; i < x.Length; i++)
            {
                double x0 = x[i];
                x[i] = x0 + eps; double lp = L();
                x[i] = x0 - eps; double lm = L();
                x[i] = x0;
                g[i] = (lp - lm) / (2 * eps);
            }
            return g;
        }
        return (Grad(y0), Grad(theta), Grad(times));
    }

    /// <summary>Loss weights: random on the chosen output times, zero elsewhere.</summary>
    public static double[] Weights(int nTimes, int n, bool allTimes, int seed)
    {
        var rng = new Rng((ulong)seed);
        var w = new double[nTimes * n];
        for (int i = allTimes ? 0 : nTimes - 1; i < nTimes; i++)
            for (int q = 0; q < n; q++) w[i * n + q] = rng.NextGaussian();
        return w;
    }

    /// <summary>‖actual − expected‖∞ / ‖expected‖∞.</summary>
    public static double RelativeError(ReadOnlySpan<double> actual, ReadOnlySpan<double> expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double diff = 0, scale = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            diff = Math.Max(diff, Math.Abs(actual[i] - expected[i]));
            scale = Math.Max(scale, Math.Abs(expected[i]));
        }
        return scale == 0 ? diff : diff / scale;
    }
}
