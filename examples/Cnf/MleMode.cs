using OdeDsl;
using OdeDsl.Flows;
using OdeDsl.Training;
using OdeDsl.Training.Distributed;

namespace Cnf;

/// <summary>
/// Fig. 5: maximum likelihood on two circles and two moons, cnf.py's 64-unit hypernetwork CNF (t from 10 to 0,
/// dopri5 1e-5, Adam 1e-3, 512 samples, base N(0, 0.1·I)) against a 64-layer planar flow (normalising direction,
/// same base, Adam 1e-3). Test NLL in nats on 5,000 fresh points; figures: data, both densities, both models' samples,
/// and the CNF carrying base samples to the data at t = 0, 2.5, 5, 7.5, 10.
/// </summary>
public static class MleMode
{
    private const double Lo = -1.5, Hi = 1.5;
    private static readonly double Std = Math.Sqrt(0.1);

    /// <summary>cnf.py's data: make_circles(noise 0.06, factor 0.5); moons: make_moons(noise 0.06) scaled by ½ and centred.</summary>
    public static double[] Data(string name, int n, ref Rng rng)
    {
        var x = new double[2 * n];
        for (int i = 0; i < n; i++)
        {
            double a = (name == "circles" ? 2 : 1) * Math.PI * rng.NextDouble();
            bool first = i < (n + 1) / 2;
            double px, py;
            if (name == "circles") { double r = first ? 1 : 0.5; px = r * Math.Cos(a); py = r * Math.Sin(a); }
            else { px = first ? Math.Cos(a) : 1 - Math.Cos(a); py = first ? Math.Sin(a) : 0.5 - Math.Sin(a); px = (px - 0.5) * 0.5; py = (py - 0.25) * 0.5; }
            double noise = name == "circles" ? 0.06 : 0.03;
            x[2 * i] = px + rng.NextGaussian() * noise;
            x[2 * i + 1] = py + rng.NextGaussian() * noise;
        }
        return x;
    }

    public static void Run(RunSettings s)
    {
        int cnfIters = s.Iterations ?? (s.Quick ? 40 : 1000);
        int nfIters = s.NfIterations ?? (s.Quick ? 1000 : 10_000);
        using var metrics = s.IsRoot ? new MetricsWriter(Path.Combine(s.OutDir, "metrics.jsonl")) : null;
        var summary = new List<string>();
        foreach (var data in new[] { "circles", "moons" })
        {
            if (!s.Selected(data)) continue;
            if (!s.IsRoot) { Cnf(s, data, cnfIters, [], null, null); continue; } // other ranks only help train the CNF
            var rng = new Rng(s.Seed + 3);
            var test = Data(data, 5000, ref rng);
            var fig = new Figures { Lo = Lo, Hi = Hi };
            fig.Scatter($"{data}: data", test.Take(2000).ToArray(), "#2c3e50");
            var (cnfNll, nfe) = Cnf(s, data, cnfIters, test, metrics, fig);
            double nfNll = Planar(s, data, nfIters, test, metrics!, fig);
            summary.Add($"{data}: CNF (64 units) test NLL {cnfNll:F3} nats (NFE fwd {nfe}); planar flow (64 layers) {nfNll:F3} nats");
            FlowRuns.Log(summary[^1]);
            fig.Save(Path.Combine(s.OutDir, $"mle_{data}.svg"));
        }
        if (s.IsRoot) File.WriteAllLines(Path.Combine(s.OutDir, "summary.txt"), summary);
    }

    /// <summary>Trains the CNF (data-parallel with --distributed); rank 0 then evaluates it and draws the figures (others return NaN).</summary>
    private static (double Nll, long Nfe) Cnf(RunSettings s, string data, int iters, double[] test, MetricsWriter? metrics, Figures? fig)
    {
        var theta = HyperPlanarField<CnfPyHyperSpec>.Layout.Initialize<float>(seed: (int)s.Seed);
        var flow = new ContinuousFlow<HyperPlanarField<CnfPyHyperSpec>, float>(theta, new FlowOptions<float>
        {
            BaseTime = 0, DataTime = 10, BaseStd = (float)Std, Kinetic = (float)s.Kinetic, JacobianFrobenius = (float)s.Jacobian,
            Solve = new SolveOptions<float> { RelTol = 1e-5f, AbsTol = 1e-5f },
        });
        var adam = new Adam<float>(theta.Length, learningRate: s.Quick ? 1e-2 : 1e-3);
        var grad = new float[theta.Length];
        var rng = new Rng(s.Seed + 11);
        var clock = FlowRuns.Clock();
        var parallel = s.Group is null ? null : new DataParallel<float>(s.Group, theta.Length);
        DataParallelFlow.Guarded(parallel, () =>
        {
            long done = 0;
            parallel?.SynchronizeState(theta, adam, ref done, ref rng);
            for (int it = 1; it <= iters; it++)
            {
                var x = FlowRuns.ToFloat(Data(data, 512, ref rng));
                FlowStep step;
                double loss;
                if (parallel is null) { step = flow.NegativeLogLikelihood(x, grad, s.GradientMethod, ref rng); loss = step.Loss; }
                else
                {
                    (step, int count) = DataParallelFlow.Shard(flow.Options.Trace, parallel, x, 2, grad,
                        (ReadOnlySpan<float> rows, Span<float> g, ref Rng r) => flow.NegativeLogLikelihood(rows, g, s.GradientMethod, ref r), ref rng);
                    loss = parallel.ReduceGradients(grad, step.Loss * count, it - 1, 1.0 / 512) / 512;
                }
                adam.Step(theta, grad);
                if (it % Math.Max(1, iters / 20) == 0 || it == iters) // NFE: rank 0's shard with --distributed
                    metrics?.Write(new TrainingMetrics(it, loss, step.Forward.FunctionEvaluations, step.Backward.FunctionEvaluations, clock.Elapsed.TotalSeconds, adam.LearningRate),
                        ("model", 0), ("kinetic", step.Kinetic), ("jacobian", step.JacobianFrobenius));
            }
            parallel?.CheckInSync(theta, iters);
        });
        if (!s.IsRoot) return (double.NaN, 0);
        var lp = new float[test.Length / 2];
        var st = flow.LogDensity(FlowRuns.ToFloat(test), lp, ref rng);
        double nll = -lp.Average(v => (double)v);
        var (density, mass, _) = FlowRuns.CnfGrid(flow, Lo, Hi, 80, ref rng);
        fig!.Heat($"CNF density (NLL {nll:F2}, ∫p {mass:F3})", density, 80);
        var samples = FlowRuns.ToDouble(flow.Sample(2000, ref rng));
        fig.Scatter("CNF samples", samples);
        // the transformation: base samples carried from t = 0 to t = 10
        var z = FlowRuns.ToFloat(FlowRuns.Gaussian(1000, Std, ref rng));
        float[] times = [0, 2.5f, 5, 7.5f, 10];
        var path = flow.Trajectory(z, times);
        for (int i = 0; i < times.Length; i++)
            fig.Scatter($"CNF at t = {times[i]}", FlowRuns.ToDouble(path.AsSpan(i * 2000, 2000).ToArray()), "#8e44ad");
        Checkpoint.Save(Path.Combine(s.OutDir, $"{data}-cnf.ckpt"), theta, adam, iters, rng);
        metrics!.Write(new TrainingMetrics(iters, nll, st.FunctionEvaluations, 0, clock.Elapsed.TotalSeconds, adam.LearningRate), ("test_nll", nll), ("grid_mass", mass));
        return (nll, st.FunctionEvaluations);
    }

    private static double Planar(RunSettings s, string data, int iters, double[] test, MetricsWriter metrics, Figures fig)
    {
        var nf = new PlanarFlow(64);
        var rng = new Rng(s.Seed + 5);
        var theta = nf.Initialize(ref rng);
        var adam = new Adam<double>(theta.Length, learningRate: 1e-3);
        var grad = new double[theta.Length];
        var clock = FlowRuns.Clock();
        for (int it = 1; it <= iters; it++)
        {
            var x = Data(data, 512, ref rng);
            var (states, logDet) = nf.Forward(theta, x, 512);
            var zK = states.AsSpan(64 * 512 * 2, 1024).ToArray();
            double loss = 0;
            var gz = new double[1024];
            for (int b = 0; b < 512; b++)
            {
                loss -= FlowRuns.LogNormal(zK.AsSpan(2 * b, 2), Std) + logDet[b];
                gz[2 * b] = zK[2 * b] / (Std * Std) / 512;
                gz[2 * b + 1] = zK[2 * b + 1] / (Std * Std) / 512;
            }
            nf.Backward(theta, states, 512, gz, Enumerable.Repeat(-1.0 / 512, 512).ToArray(), grad);
            adam.Step(theta, grad);
            if (it % Math.Max(1, iters / 20) == 0)
                metrics.Write(new TrainingMetrics(it, loss / 512, 0, 0, clock.Elapsed.TotalSeconds, adam.LearningRate), ("model", 1));
        }
        double nll = -FlowRuns.PlanarLogDensityNormalising(nf, theta, test, Std).Average();
        var grid = Figures.Grid(Lo, Hi, 80);
        fig.Heat($"planar flow K=64 density (NLL {nll:F2})", FlowRuns.PlanarLogDensityNormalising(nf, theta, grid, Std).Select(Math.Exp).ToArray(), 80);
        var z = FlowRuns.Gaussian(2000, Std, ref rng);
        fig.Scatter("planar flow samples", nf.Inverse(theta, z, 2000));
        metrics.Write(new TrainingMetrics(iters, nll, 0, 0, clock.Elapsed.TotalSeconds, adam.LearningRate), ("test_nll", nll), ("model", 1));
        return nll;
    }
}
