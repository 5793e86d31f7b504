using System.Diagnostics;
using OdeDsl;
using OdeDsl.Flows;
using OdeDsl.Training;

namespace Cnf;

/// <summary>Pieces shared by the modes: CNF and planar-flow densities on a grid, metrics lines, checkpoints.</summary>
public static class FlowRuns
{
    /// <summary>CNF density on the grid (float), and the grid's mass ∫p ≈ Σ p·cell area.</summary>
    public static (double[] Density, double Mass, long Nfe) CnfGrid<TField>(ContinuousFlow<TField, float> flow, double lo, double hi, int cells, ref Rng rng)
        where TField : ICnfField<TField>
    {
        var grid = Figures.Grid(lo, hi, cells).Select(v => (float)v).ToArray();
        var lp = new float[cells * cells];
        var stats = flow.LogDensity(grid, lp, ref rng);
        var p = lp.Select(v => Math.Exp(v)).ToArray();
        double area = Math.Pow((hi - lo) / cells, 2);
        return (p, p.Sum() * area, stats.FunctionEvaluations);
    }

    /// <summary>Planar flow in the normalising direction (z = f(x)): log p(x) = log N(f(x); 0, σ²I) + Σ log|det|.</summary>
    public static double[] PlanarLogDensityNormalising(PlanarFlow nf, double[] theta, double[] x, double std)
    {
        int n = x.Length / 2;
        var (states, logDet) = nf.Forward(theta, x, n);
        var lp = new double[n];
        for (int b = 0; b < n; b++)
        {
            var z = states.AsSpan((nf.Layers * n + b) * 2, 2);
            lp[b] = LogNormal(z, std) + logDet[b];
        }
        return lp;
    }

    /// <summary>Planar flow in the generative direction (x = f(z)): log q(x) = log N(f⁻¹(x)) − Σ log|det| at f⁻¹(x).</summary>
    public static double[] PlanarLogDensityGenerative(PlanarFlow nf, double[] theta, double[] x, double std)
    {
        int n = x.Length / 2;
        var z = nf.Inverse(theta, x, n);
        var (_, logDet) = nf.Forward(theta, z, n);
        var lp = new double[n];
        for (int b = 0; b < n; b++) lp[b] = LogNormal(z.AsSpan(b * 2, 2), std) - logDet[b];
        return lp;
    }

    public static double LogNormal(ReadOnlySpan<double> z, double std)
    {
        double sq = 0;
        foreach (var v in z) sq += v * v;
        return -0.5 * z.Length * Math.Log(2 * Math.PI * std * std) - sq / (2 * std * std);
    }

    public static double[] Gaussian(int n, double std, ref Rng rng)
    {
        var z = new double[2 * n];
        for (int i = 0; i < z.Length; i++) z[i] = rng.NextGaussian() * std;
        return z;
    }

    public static float[] ToFloat(double[] x) => x.Select(v => (float)v).ToArray();
    public static double[] ToDouble(float[] x) => x.Select(v => (double)v).ToArray();

    public static void Log(string line)
    {
        Console.WriteLine(line);
        Console.Out.Flush();
    }

    public static Stopwatch Clock() => Stopwatch.StartNew();
}
