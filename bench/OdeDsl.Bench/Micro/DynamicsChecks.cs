namespace OdeDsl.Bench.Micro;

/// <summary>
/// A quick consistency check run before a system is benchmarked (double precision, batch 3): JVP against central
/// differences of Evaluate, the transposition identity ⟨a, J v⟩ = ⟨Jᵀa, v⟩ between JVP and VJP, the θ-gradient
/// and t-gradient of the VJP against central differences, and the divergence against the trace assembled from JVPs.
/// Throws when any of them is off, so a wrong kernel never produces a benchmark figure.
/// </summary>
internal static class DynamicsChecks
{
    public static void Verify<TDyn>() where TDyn : IOdeDynamics<TDyn>
    {
        const int batch = 3;
        int d = TDyn.StateSize, n = batch * d, p = TDyn.ParameterCount;
        var rng = new Random(7);
        double[] R(int len) => Enumerable.Range(0, len).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        double[] t = R(batch), h = R(n), v = R(n), a = R(n), theta = TDyn.Layout.Initialize<double>(seed: 3);
        var ws = new double[TDyn.WorkspaceLength(batch)];
        double[] F(double[] hh, double[] th, double[]? tt = null) { var o = new double[n]; TDyn.Evaluate<double>(tt ?? t, hh, th, o, batch, ws); return o; }

        const double eps = 1e-6;
        var dh = new double[n]; var jvp = new double[n];
        TDyn.JacobianVectorProduct<double>(t, h, theta, v, dh, jvp, batch, ws);
        var fp = F(h.Zip(v, (x, y) => x + eps * y).ToArray(), theta);
        var fm = F(h.Zip(v, (x, y) => x - eps * y).ToArray(), theta);
        for (int i = 0; i < n; i++) Require(jvp[i], (fp[i] - fm[i]) / (2 * eps), 1e-6, $"JVP[{i}]");

        var gradH = new double[n]; var gradTheta = new double[p]; var gradT = new double[batch];
        TDyn.VectorJacobianProduct<double>(t, h, theta, a, gradH, gradTheta, gradT, batch, ws);
        Require(Dot(a, jvp), Dot(gradH, v), 1e-10, "⟨a, Jv⟩ = ⟨Jᵀa, v⟩");
        var dir = R(p);
        var gp = F(h, theta.Zip(dir, (x, y) => x + eps * y).ToArray());
        var gm = F(h, theta.Zip(dir, (x, y) => x - eps * y).ToArray());
        Require(Dot(gradTheta, dir), Dot(a, gp.Zip(gm, (x, y) => (x - y) / (2 * eps)).ToArray()), 1e-6, "θ-gradient");

        var dt = R(batch);
        var tp = F(h, theta, t.Zip(dt, (x, y) => x + eps * y).ToArray());
        var tm = F(h, theta, t.Zip(dt, (x, y) => x - eps * y).ToArray());
        Require(Dot(gradT, dt), Dot(a, tp.Zip(tm, (x, y) => (x - y) / (2 * eps)).ToArray()), 1e-6, "t-gradient");

        var div = new double[batch];
        TDyn.EvaluateWithDivergence<double>(t, h, theta, dh, div, batch, ws);
        var trace = new double[batch];
        for (int i = 0; i < d; i++)
        {
            var e = new double[n];
            for (int b = 0; b < batch; b++) e[b * d + i] = 1;
            TDyn.JacobianVectorProduct<double>(t, h, theta, e, dh, jvp, batch, ws);
            for (int b = 0; b < batch; b++) trace[b] += jvp[b * d + i];
        }
        for (int b = 0; b < batch; b++) Require(div[b], trace[b], 1e-10, $"divergence[{b}]");
    }

    private static double Dot(double[] x, double[] y) => x.Zip(y, (u, w) => u * w).Sum();

    private static void Require(double actual, double expected, double tol, string what)
    {
        if (!(Math.Abs(actual - expected) <= tol * (1 + Math.Abs(expected))))
            throw new InvalidOperationException($"{what}: {actual} but expected {expected} (tolerance {tol}).");
    }
}
