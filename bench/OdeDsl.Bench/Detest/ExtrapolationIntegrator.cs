namespace OdeDsl.Bench.Detest;

/// <summary>
/// Fixed-macro-step Gragg–Bulirsch–Stoer extrapolation, used only to make DETEST reference solutions
/// independently of the library's solvers. Each macro step H runs Gragg's modified midpoint rule with
/// n_j = 2j substeps (j = 1..K) and extrapolates the results in h² with Aitken–Neville, giving order 2K
/// (Hairer, Nørsett &amp; Wanner, Solving ODEs I, §II.9). Cost is irrelevant here; accuracy is the point.
/// </summary>
public static class ExtrapolationIntegrator
{
    private const int K = 8;

    public static double[] Integrate<P>(double[] y0, double t0, double t1, double h) where P : IDetestRow
    {
        int n = y0.Length;
        int steps = (int)Math.Ceiling((t1 - t0) / h - 1e-9);
        double hh = (t1 - t0) / steps;
        var y = (double[])y0.Clone();
        var table = new double[K][];
        for (int j = 0; j < K; j++) table[j] = new double[n];
        var f0 = new double[n];
        var work = new Work(n);
        for (int s = 0; s < steps; s++)
        {
            double t = t0 + s * hh;
            P.Row(t, y, f0);
            for (int j = 0; j < K; j++)
            {
                Midpoint<P>(y, f0, t, hh, 2 * (j + 1), table[j], work);
                // Neville: T[j,k] = T[j,k-1] + (T[j,k-1] − T[j-1,k-1]) / ((n_j/n_{j-k})² − 1), in place.
                for (int k = j - 1; k >= 0; k--)
                {
                    double ratio = (double)(j + 1) / (k + 1);
                    double factor = 1.0 / (ratio * ratio - 1.0);
                    for (int i = 0; i < n; i++)
                        table[k][i] = table[k + 1][i] + (table[k + 1][i] - table[k][i]) * factor;
                }
            }
            Array.Copy(table[0], y, n);
        }
        return y;
    }

    private sealed class Work(int n)
    {
        public double[] Previous = new double[n], Current = new double[n], Next = new double[n], F = new double[n];
    }

    /// <summary>Gragg's modified midpoint rule over [t, t+H] with m substeps (with the smoothing final step).</summary>
    private static void Midpoint<P>(double[] y, double[] f0, double t, double bigH, int m, double[] result, Work w) where P : IDetestRow
    {
        int n = y.Length;
        double h = bigH / m;
        for (int i = 0; i < n; i++) { w.Previous[i] = y[i]; w.Current[i] = y[i] + h * f0[i]; }
        for (int k = 1; k < m; k++)
        {
            P.Row(t + k * h, w.Current, w.F);
            for (int i = 0; i < n; i++) w.Next[i] = w.Previous[i] + 2.0 * h * w.F[i];
            (w.Previous, w.Current, w.Next) = (w.Current, w.Next, w.Previous);
        }
        P.Row(t + bigH, w.Current, w.F);
        for (int i = 0; i < n; i++) result[i] = 0.5 * (w.Previous[i] + w.Current[i] + h * w.F[i]);
    }
}
