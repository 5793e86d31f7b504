using OdeDsl;
using OdeDsl.Flows;
using OdeDsl.Training;
using OdeDsl.Training.Distributed;

namespace Cnf;

/// <summary>
/// Fig. 4: fit q to p ∝ e^{−U} for Rezende &amp; Mohamed's four potentials by minimising KL(q‖p), with a planar CNF
/// (hypernetwork of t, M ∈ {2, 8, 32}) and a planar flow of K = M layers. The reported KL adds log Z, computed on a
/// fine grid, so it is the divergence itself (≥ 0), estimated on fresh base samples.
/// </summary>
public static class DensityMode
{
    private const double Lo = -4, Hi = 4;

    public static void Run(RunSettings s)
    {
        int cnfIters = s.Iterations ?? (s.Quick ? 60 : 10_000);
        int nfIters = s.NfIterations ?? (s.Quick ? 2_000 : 500_000);
        int batch = s.Quick ? 128 : 256;
        using var metrics = s.IsRoot ? new MetricsWriter(Path.Combine(s.OutDir, "metrics.jsonl")) : null;
        var summary = new List<string>();
        for (int pot = 1; pot <= 4; pot++)
        {
            if (!s.Selected(pot.ToString())) continue;
            double logZ = LogPartition(pot);
            var fig = s.IsRoot ? new Figures { Lo = Lo, Hi = Hi } : null;
            fig?.Heat($"U{pot}: target", TargetGrid(pot, logZ, 80), 80);
            foreach (int m in new[] { 2, 8, 32 })
            {
                var cnf = m switch
                {
                    2 => Cnf<HyperPlanarField<HyperM2>>(s, pot, logZ, cnfIters, batch, metrics, fig),
                    8 => Cnf<HyperPlanarField<HyperM8>>(s, pot, logZ, cnfIters, batch, metrics, fig),
                    _ => Cnf<HyperPlanarField<HyperM32>>(s, pot, logZ, cnfIters, batch, metrics, fig),
                };
                if (!s.IsRoot) continue; // the other ranks only help train the CNFs
                var nf = Planar(s, pot, m, logZ, nfIters, batch, metrics!, fig!);
                summary.Add($"U{pot} M={m}: CNF KL {cnf.Kl:F3} (NFE fwd {cnf.Nfe}), NF K={m} KL {nf:F3}");
                FlowRuns.Log(summary[^1]);
            }
            fig?.Save(Path.Combine(s.OutDir, $"density_U{pot}.svg"));
        }
        if (s.IsRoot) File.WriteAllLines(Path.Combine(s.OutDir, "summary.txt"), summary);
    }

    /// <summary>log ∫e^{−U} over [−6, 6]² on a 600² grid (every potential's mass lies inside: U₁'s ring, U₂–U₄'s wall at |x| = 4).</summary>
    private static double LogPartition(int pot)
    {
        const int n = 600;
        const double lo = -6, w = 12.0 / n;
        double sum = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) sum += Math.Exp(-Potentials.U(pot, lo + (i + 0.5) * w, lo + (j + 0.5) * w));
        return Math.Log(sum * w * w);
    }

    private static double[] TargetGrid(int pot, double logZ, int cells)
    {
        var g = Figures.Grid(Lo, Hi, cells);
        return Enumerable.Range(0, cells * cells).Select(k => Math.Exp(-Potentials.U(pot, g[2 * k], g[2 * k + 1]) - logZ)).ToArray();
    }

    /// <summary>Trains the CNF (data-parallel with --distributed); rank 0 then evaluates it and draws it (others return NaN).</summary>
    private static (double Kl, long Nfe) Cnf<TField>(RunSettings s, int pot, double logZ, int iters, int batch, MetricsWriter? metrics, Figures? fig)
        where TField : ICnfField<TField>
    {
        string name = $"U{pot}-cnf-M{typeof(TField).GetGenericArguments()[0].Name[6..]}";
        var theta = TField.Layout.Initialize<float>(seed: (int)s.Seed);
        var options = new FlowOptions<float>
        {
            BaseTime = 0, DataTime = 10, BaseStd = 1, Kinetic = (float)s.Kinetic, JacobianFrobenius = (float)s.Jacobian,
            Solve = new SolveOptions<float> { RelTol = 1e-5f, AbsTol = 1e-5f },
        };
        var flow = new ContinuousFlow<TField, float>(theta, options);
        var adam = new Adam<float>(theta.Length, learningRate: s.Quick ? 1e-2 : 1e-3);
        var grad = new float[theta.Length];
        var rng = new Rng(s.Seed + 17);
        EnergyFunction<float> energy = (x, u, du) =>
        {
            var xd = new double[x.Length];
            for (int i = 0; i < x.Length; i++) xd[i] = x[i];
            var ud = new double[u.Length];
            var gd = new double[du.Length];
            Potentials.Energy(pot, xd, ud, gd);
            for (int i = 0; i < u.Length; i++) u[i] = (float)ud[i];
            for (int i = 0; i < du.Length; i++) du[i] = (float)gd[i];
        };
        var clock = FlowRuns.Clock();
        long nfe = 0;
        var parallel = s.Group is null ? null : new DataParallel<float>(s.Group, theta.Length);
        DataParallelFlow.Guarded(parallel, () =>
        {
            long done = 0;
            parallel?.SynchronizeState(theta, adam, ref done, ref rng);
            for (int it = 1; it <= iters; it++)
            {
                var z = FlowRuns.ToFloat(FlowRuns.Gaussian(batch, 1, ref rng));
                FlowStep step;
                double loss;
                if (parallel is null) { step = flow.ReverseKl(z, energy, grad, s.GradientMethod, ref rng); loss = step.Loss; }
                else
                {
                    (step, int count) = DataParallelFlow.Shard(options.Trace, parallel, z, 2, grad,
                        (ReadOnlySpan<float> rows, Span<float> g, ref Rng r) => flow.ReverseKl(rows, energy, g, s.GradientMethod, ref r), ref rng);
                    loss = parallel.ReduceGradients(grad, step.Loss * count, it - 1, 1.0 / batch) / batch;
                }
                adam.Step(theta, grad);
                nfe = step.Forward.FunctionEvaluations;
                if (it % Math.Max(1, iters / 10) == 0 || it == iters) // NFE: rank 0's shard with --distributed
                    metrics?.Write(new TrainingMetrics(it, loss + logZ, step.Forward.FunctionEvaluations, step.Backward.FunctionEvaluations, clock.Elapsed.TotalSeconds, adam.LearningRate),
                        ("kl", loss + logZ), ("potential", pot), ("kinetic", step.Kinetic), ("jacobian", step.JacobianFrobenius));
            }
            parallel?.CheckInSync(theta, iters);
        });
        if (!s.IsRoot) return (double.NaN, 0);
        // KL on fresh samples (no gradient)
        var zTest = FlowRuns.ToFloat(FlowRuns.Gaussian(2000, 1, ref rng));
        var xs = new float[zTest.Length];
        var lq = new float[2000];
        var st = flow.Push(zTest, xs, lq, ref rng);
        double kl = 0;
        for (int b = 0; b < 2000; b++) kl += lq[b] + Potentials.U(pot, xs[2 * b], xs[2 * b + 1]);
        kl = kl / 2000 + logZ;
        var (density, _, _) = FlowRuns.CnfGrid(flow, Lo, Hi, 80, ref rng);
        fig!.Heat($"{name} (KL {kl:F2})", density, 80);
        Checkpoint.Save(Path.Combine(s.OutDir, $"{name}.ckpt"), theta, adam, iters, rng);
        metrics!.Write(new TrainingMetrics(iters, kl, st.FunctionEvaluations, 0, clock.Elapsed.TotalSeconds, adam.LearningRate), ("final_kl", kl), ("potential", pot));
        return (kl, st.FunctionEvaluations);
    }

    private static double Planar(RunSettings s, int pot, int k, double logZ, int iters, int batch, MetricsWriter metrics, Figures fig)
    {
        var nf = new PlanarFlow(k);
        var rng = new Rng(s.Seed + 29);
        var theta = nf.Initialize(ref rng);
        var opt = new RmsProp<double>(theta.Length, learningRate: 1e-3);
        var grad = new double[theta.Length];
        var clock = FlowRuns.Clock();
        double Kl(double[] z, int n, bool backward)
        {
            var (states, logDet) = nf.Forward(theta, z, n);
            double loss = 0;
            var xK = states.AsSpan(k * n * 2, n * 2).ToArray();
            var u = new double[n];
            var du = new double[2 * n];
            Potentials.Energy(pot, xK, u, du);
            for (int b = 0; b < n; b++) loss += FlowRuns.LogNormal(z.AsSpan(2 * b, 2), 1) - logDet[b] + u[b];
            if (backward)
            {
                for (int i = 0; i < du.Length; i++) du[i] /= n;
                nf.Backward(theta, states, n, du, Enumerable.Repeat(-1.0 / n, n).ToArray(), grad);
            }
            return loss / n + logZ;
        }
        for (int it = 1; it <= iters; it++)
        {
            double kl = Kl(FlowRuns.Gaussian(batch, 1, ref rng), batch, true);
            opt.Step(theta, grad);
            if (it % Math.Max(1, iters / 10) == 0)
                metrics.Write(new TrainingMetrics(it, kl, 0, 0, clock.Elapsed.TotalSeconds, opt.LearningRate), ("kl", kl), ("potential", pot), ("nf_layers", k));
        }
        double final = Kl(FlowRuns.Gaussian(2000, 1, ref rng), 2000, false);
        var grid = Figures.Grid(Lo, Hi, 80);
        var lq = FlowRuns.PlanarLogDensityGenerative(nf, theta, grid, 1);
        fig.Heat($"U{pot}-planar-K{k} (KL {final:F2})", lq.Select(Math.Exp).ToArray(), 80);
        metrics.Write(new TrainingMetrics(iters, final, 0, 0, clock.Elapsed.TotalSeconds, opt.LearningRate), ("final_kl", final), ("potential", pot), ("nf_layers", k));
        File.WriteAllText(Path.Combine(s.OutDir, $"U{pot}-planar-K{k}.theta"), string.Join(" ", theta.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))));
        return final;
    }
}
