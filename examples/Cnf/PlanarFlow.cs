namespace Cnf;

/// <summary>
/// A planar normalizing flow of K layers z' = z + û tanh(wᵀz + b) (Rezende &amp; Mohamed 2015, eq. 10), with û made
/// invertible as in their appendix: û = u + (m(wᵀu) − wᵀu)·w/‖w‖², m(x) = −1 + softplus(x); then
/// log|det| = log(1 + (1 − h²)·m(wᵀu)) > −∞. θ holds [w (d), u (d), b] per layer. Hand-written forward and reverse.
/// </summary>
public sealed class PlanarFlow(int layers, int d = 2)
{
    public int Layers { get; } = layers;
    public int Dim { get; } = d;
    public int ParameterCount => Layers * (2 * Dim + 1);

    public double[] Initialize(ref OdeDsl.Training.Rng rng)
    {
        var theta = new double[ParameterCount];
        for (int i = 0; i < theta.Length; i++) theta[i] = rng.NextGaussian() * 0.1;
        return theta;
    }

    private static double Softplus(double x) => x > 0 ? x + Math.Log(1 + Math.Exp(-x)) : Math.Log(1 + Math.Exp(x));
    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>û, m(wᵀu), wᵀu of layer k.</summary>
    private (double[] UHat, double M, double S) Hat(ReadOnlySpan<double> theta, int k)
    {
        var p = theta.Slice(k * (2 * Dim + 1), 2 * Dim + 1);
        var w = p.Slice(0, Dim); var u = p.Slice(Dim, Dim);
        double s = 0, q = 0;
        for (int i = 0; i < Dim; i++) { s += w[i] * u[i]; q += w[i] * w[i]; }
        double m = -1 + Softplus(s);
        var uh = new double[Dim];
        for (int i = 0; i < Dim; i++) uh[i] = u[i] + (m - s) * w[i] / (q + 1e-12);
        return (uh, m, s);
    }

    /// <summary>Pushes n points through all layers: states [K+1, n, d] (kept for the reverse) and Σ log|det| per point.</summary>
    public (double[] States, double[] LogDet) Forward(ReadOnlySpan<double> theta, ReadOnlySpan<double> z0, int n)
    {
        var states = new double[(Layers + 1) * n * Dim];
        z0.CopyTo(states);
        var logDet = new double[n];
        for (int k = 0; k < Layers; k++)
        {
            var (uh, m, _) = Hat(theta, k);
            var p = theta.Slice(k * (2 * Dim + 1), 2 * Dim + 1);
            for (int b = 0; b < n; b++)
            {
                var z = states.AsSpan((k * n + b) * Dim, Dim);
                var zn = states.AsSpan(((k + 1) * n + b) * Dim, Dim);
                double a = p[2 * Dim];
                for (int i = 0; i < Dim; i++) a += p[i] * z[i];
                double h = Math.Tanh(a);
                for (int i = 0; i < Dim; i++) zn[i] = z[i] + uh[i] * h;
                logDet[b] += Math.Log(1 + (1 - h * h) * m);
            }
        }
        return (states, logDet);
    }

    /// <summary>Reverse sweep: dL/dz_K ([n, d]) and dL/dlogdet per point → θ-gradient (written) and dL/dz₀ (returned).</summary>
    public double[] Backward(ReadOnlySpan<double> theta, double[] states, int n, ReadOnlySpan<double> gradOut, ReadOnlySpan<double> gradLogDet, Span<double> gradTheta)
    {
        gradTheta.Clear();
        var zbar = gradOut.ToArray();
        int d = Dim;
        for (int k = Layers - 1; k >= 0; k--)
        {
            var (uh, m, s) = Hat(theta, k);
            var p = theta.Slice(k * (2 * d + 1), 2 * d + 1);
            var g = gradTheta.Slice(k * (2 * d + 1), 2 * d + 1);
            double q = 0;
            for (int i = 0; i < d; i++) q += p[i] * p[i];
            q += 1e-12;
            var uhBar = new double[d];
            double mBar = 0;
            for (int b = 0; b < n; b++)
            {
                var z = states.AsSpan((k * n + b) * d, d);
                var zb = zbar.AsSpan(b * d, d);
                double a = p[2 * d];
                for (int i = 0; i < d; i++) a += p[i] * z[i];
                double h = Math.Tanh(a), gg = 1 - h * h, det = 1 + gg * m, lb = gradLogDet[b];
                double hBar = 0;
                for (int i = 0; i < d; i++) { hBar += zb[i] * uh[i]; uhBar[i] += zb[i] * h; }
                mBar += lb * gg / det;
                hBar += lb * m / det * (-2 * h);
                double aBar = hBar * gg;
                for (int i = 0; i < d; i++) { g[i] += aBar * z[i]; zb[i] += aBar * p[i]; }
                g[2 * d] += aBar;
            }
            // û = u + (m − s)·w/q
            double c = m - s, cBar = 0;
            for (int i = 0; i < d; i++) { g[d + i] += uhBar[i]; cBar += uhBar[i] * p[i] / q; }
            double rw = 0;
            for (int i = 0; i < d; i++) rw += c * uhBar[i] * p[i];
            for (int i = 0; i < d; i++) g[i] += c * uhBar[i] / q - rw * 2 * p[i] / (q * q);
            mBar += cBar;
            double sBar = -cBar + mBar * Sigmoid(s);
            for (int i = 0; i < d; i++) { g[i] += sBar * p[d + i]; g[d + i] += sBar * p[i]; }
        }
        return zbar;
    }

    /// <summary>Inverse of the whole flow for points x ([n, d]): per layer, α = wᵀz solves wᵀz' = α + m·tanh(α + b) (monotone).</summary>
    public double[] Inverse(ReadOnlySpan<double> theta, ReadOnlySpan<double> x, int n)
    {
        var z = x.ToArray();
        int d = Dim;
        for (int k = Layers - 1; k >= 0; k--)
        {
            var (uh, m, _) = Hat(theta, k);
            var p = theta.Slice(k * (2 * d + 1), 2 * d + 1);
            for (int b = 0; b < n; b++)
            {
                var zb = z.AsSpan(b * d, d);
                double target = 0;
                for (int i = 0; i < d; i++) target += p[i] * zb[i];
                double lo = target - Math.Abs(m) - 1, hi = target + Math.Abs(m) + 1, alpha = target;
                for (int it = 0; it < 60; it++)
                {
                    alpha = 0.5 * (lo + hi);
                    if (alpha + m * Math.Tanh(alpha + p[2 * d]) > target) hi = alpha; else lo = alpha;
                }
                double h = Math.Tanh(alpha + p[2 * d]);
                for (int i = 0; i < d; i++) zb[i] -= uh[i] * h;
            }
        }
        return z;
    }
}
