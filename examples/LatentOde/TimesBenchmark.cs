using System.Diagnostics;
using OdeDsl;
using OdeDsl.Training;

namespace LatentOde;

/// <summary>
/// Forward + gradient of a loss read at per-sample times, three ways: one per-sample-times call
/// (<see cref="Ode.ForwardAtSampleTimes{TDynamics, T}"/>), the union grid (every sample output at every sample's times,
/// cotangents zero except at its own, as torchdiffeq needs), and one solve per sample. Two time sets: n of the 100-point
/// window grid per sample (the spiral data: the union has at most 100 times) and n uniform times per sample (the union
/// has batch·n). The latent field (4-20-4 ELU) at its initial weights; float; rtol 1e-5, atol 1e-6. Medians of interleaved runs.
/// </summary>
public static class TimesBenchmark
{
    public static int Run(int batch, int n, int repeats, string which = "both")
    {
        var theta = LatentField.Parameters.Initialize<float>(seed: 1);
        var options = new SolveOptions<float> { RelTol = 1e-5f, AbsTol = 1e-6f };
        var rng = new Rng(5);
        var z0 = new float[batch * Sizes.Latent];
        for (int i = 0; i < z0.Length; i++) z0[i] = (float)rng.NextGaussian();
        double end = 99 * 6 * Math.PI / 999;
        Console.WriteLine($"batch {batch}, n = {n} per sample, t ∈ [0, {end:F3}], median of {repeats} interleaved runs (ms, forward + backward)");
        Console.WriteLine("| times | gradient | per-sample times | union grid | one solve per sample | union size | max rel. diff (per-sample vs union) | backward NFE (per-sample times / union) |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var grid in new[] { true, false })
        {
            if (which != "both" && (which == "grid") != grid) continue;
            var lists = new float[batch][];
            for (int b = 0; b < batch; b++)
            {
                var set = new SortedSet<float>();
                while (set.Count < n) set.Add(grid ? (float)(rng.NextInt(100) * end / 99) : (float)(rng.NextDouble() * end));
                lists[b] = [.. set];
            }
            var times = new SampleTimes<float>(0f, lists);
            var g = new float[times.Count * Sizes.Latent];
            for (int i = 0; i < g.Length; i++) g[i] = (float)rng.NextGaussian();
            // The per-sample-times adjoint always controls the error with the seminorm; the seminorm row compares like with like.
            foreach (var sensitivity in new[] { Sensitivity.Backprop, Sensitivity.Adjoint(), Sensitivity.Adjoint(new AdjointOptions { Seminorm = true }) })
            {
                var ms = new List<double>[3];
                for (int m = 0; m < 3; m++) ms[m] = [];
                float[] a = [], u = [];
                long nfeA = 0, nfeU = 0;
                int unionSize = 0;
                for (int r = -1; r < repeats; r++) // r = −1: warm-up (JIT tiers), not timed
                {
                    double t0 = Time(() => (a, nfeA) = Ragged(z0, times, theta, g, sensitivity, options));
                    double t1 = Time(() => (u, unionSize, nfeU) = Union(z0, times, theta, g, sensitivity, options));
                    double t2 = Time(() => PerSample(z0, times, theta, g, sensitivity, options));
                    if (r < 0) continue;
                    ms[0].Add(t0); ms[1].Add(t1); ms[2].Add(t2);
                }
                double diff = 0, scale = 0;
                for (int i = 0; i < a.Length; i++) { diff = Math.Max(diff, Math.Abs(a[i] - u[i])); scale = Math.Max(scale, Math.Abs(u[i])); }
                Console.WriteLine($"| {(grid ? "window grid" : "uniform")} | {sensitivity} | {Median(ms[0]):F1} | {Median(ms[1]):F1} | {Median(ms[2]):F1} | {unionSize} | {diff / scale:E1} | {nfeA} / {nfeU} |");
            }
        }
        return 0;
    }

    private static double Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalMilliseconds;
    }

    private static double Median(List<double> xs) { var s = xs.Order().ToArray(); return s[s.Length / 2]; }

    private static (float[] Theta, long Nfe) Ragged(float[] z0, SampleTimes<float> times, float[] theta, float[] g, Sensitivity sensitivity, SolveOptions<float> options)
    {
        var grad = Ode.ForwardAtSampleTimes<LatentField.Dynamics, float>(z0, times, theta, sensitivity, options).Backward(g);
        return (grad.Theta, grad.Backward.FunctionEvaluations);
    }

    private static (float[] Theta, int UnionSize, long Nfe) Union(float[] z0, SampleTimes<float> times, float[] theta, float[] g, Sensitivity sensitivity, SolveOptions<float> options)
    {
        int S = Sizes.Latent, batch = times.Batch;
        var union = times.All.ToArray().Append(0f).Distinct().Order().ToArray();
        var dL = new float[union.Length * batch * S];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < times.Of(b).Length; i++)
            {
                int k = Array.BinarySearch(union, times.Of(b)[i]);
                g.AsSpan((times.Offset(b) + i) * S, S).CopyTo(dL.AsSpan((k * batch + b) * S, S));
            }
        var grad = Ode.Forward<LatentField.Dynamics, float>(z0, union, theta, sensitivity, options).Backward(dL);
        return (grad.Theta, union.Length, grad.Backward.FunctionEvaluations);
    }

    private static void PerSample(float[] z0, SampleTimes<float> times, float[] theta, float[] g, Sensitivity sensitivity, SolveOptions<float> options)
    {
        int S = Sizes.Latent;
        for (int b = 0; b < times.Batch; b++)
        {
            var own = times.Of(b).ToArray();
            float[] t = own[0] == 0f ? own : [0f, .. own];
            int skip = t.Length - own.Length;
            var dL = new float[t.Length * S];
            g.AsSpan(times.Offset(b) * S, own.Length * S).CopyTo(dL.AsSpan(skip * S));
            Ode.Forward<LatentField.Dynamics, float>(z0.AsSpan(b * S, S), t, theta, sensitivity, options).Backward(dL);
        }
    }
}
