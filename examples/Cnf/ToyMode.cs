using OdeDsl;
using OdeDsl.Flows;
using OdeDsl.Training;
using OdeDsl.Training.Distributed;

namespace Cnf;

/// <summary>
/// FFJORD's toy experiments (train_toy.py): concatsquash 64-64-64 tanh field, learnable end time T = θ_T² (θ_T starts at
/// √0.5), dopri5 rtol = atol = 1e-5, Adam 1e-3 with weight decay 1e-5, batch 100, base N(0, I); exact trace or Hutchinson.
/// Prints test NLL in nats and the density's mass on a grid (|∫p − 1| ≤ 2 % is the check), for each data set.
/// </summary>
public static class ToyMode
{
    private const double Lo = -4, Hi = 4, MassBox = 6;

    public static void Run(RunSettings s)
    {
        int iters = s.Iterations ?? (s.Quick ? 30 : 10_000);
        var estimator = s.Trace switch { "gaussian" => TraceEstimator.Gaussian, "rademacher" => TraceEstimator.Rademacher, _ => TraceEstimator.Exact };
        using var metrics = s.IsRoot ? new MetricsWriter(Path.Combine(s.OutDir, "metrics.jsonl")) : null;
        var summary = new List<string>();
        foreach (var data in ToyDatasets.Names)
        {
            if (!s.Selected(data)) continue;
            // --field dsl: the same architecture written in the DSL (FfjordToyDslField), its trace gradients generated
            var line = s.Field == "dsl"
                ? Train<GeneratedCnfField<FfjordToyDslField.Dynamics>>(s, data, iters, estimator, metrics)
                : Train<MlpField<FfjordToySpec>>(s, data, iters, estimator, metrics);
            if (line is null) continue; // not rank 0
            summary.Add(line);
            FlowRuns.Log(line);
        }
        if (s.IsRoot) File.WriteAllLines(Path.Combine(s.OutDir, "summary.txt"), summary);
    }

    /// <summary>Trains (data-parallel with --distributed); rank 0 then evaluates and returns the summary line, the other ranks null.</summary>
    private static string? Train<TField>(RunSettings s, string data, int iters, TraceEstimator estimator, MetricsWriter? metrics)
        where TField : ICnfField<TField>
    {
        // both fields share MlpField<FfjordToySpec>'s θ layout, so a seed gives them the same initial weights
        var theta = MlpField<FfjordToySpec>.Layout.Initialize<float>(seed: (int)s.Seed);
        if (theta.Length != TField.ParameterCount) throw new InvalidOperationException($"{typeof(TField).Name} has {TField.ParameterCount} parameters, not the library field's {theta.Length}.");
        double sqrtT = Math.Sqrt(0.5);
        var adam = new Adam<float>(theta.Length + 1, learningRate: 1e-3, weightDecay: 1e-5);
        var all = new float[theta.Length + 1];
        var grad = new float[theta.Length + 1];
        var rng = new Rng(s.Seed + 7);
        ContinuousFlow<TField, float> Flow(TraceEstimator tr) => new(theta, new FlowOptions<float>
        {
            BaseTime = (float)(sqrtT * sqrtT), DataTime = 0, BaseStd = 1, Trace = tr, Kinetic = (float)s.Kinetic, JacobianFrobenius = (float)s.Jacobian,
            Solve = new SolveOptions<float> { RelTol = 1e-5f, AbsTol = 1e-5f },
        });
        var clock = FlowRuns.Clock();
        var parallel = s.Group is null ? null : new DataParallel<float>(s.Group, all.Length); // θ and θ_T reduced together
        DataParallelFlow.Guarded(parallel, () =>
        {
            if (parallel is not null)
            {
                long done = 0;
                theta.CopyTo(all, 0);
                all[^1] = (float)sqrtT;
                parallel.SynchronizeState(all, adam, ref done, ref rng);
                all.AsSpan(0, theta.Length).CopyTo(theta);
                sqrtT = all[^1];
            }
            for (int it = 1; it <= iters; it++)
            {
                var x = FlowRuns.ToFloat(ToyDatasets.Sample(data, 100, ref rng));
                double loss;
                FlowStep step;
                if (parallel is null)
                {
                    step = Flow(estimator).NegativeLogLikelihood(x, grad.AsSpan(0, theta.Length), s.GradientMethod, ref rng);
                    grad[^1] = (float)(step.BaseTimeGradient() * 2 * sqrtT); // T = θ_T²
                    loss = step.Loss;
                }
                else
                {
                    var flow = Flow(estimator);
                    (step, int count) = DataParallelFlow.Shard(estimator, parallel, x, 2, grad.AsSpan(0, theta.Length),
                        (ReadOnlySpan<float> rows, Span<float> g, ref Rng r) => flow.NegativeLogLikelihood(rows, g, s.GradientMethod, ref r), ref rng);
                    grad[^1] = (float)(step.BaseTimeGradient() * count * 2 * sqrtT); // of the shard's summed loss
                    loss = parallel.ReduceGradients(grad, step.Loss * count, it - 1, 1.0 / 100) / 100;
                }
                theta.CopyTo(all, 0);
                all[^1] = (float)sqrtT;
                adam.Step(all, grad);
                all.AsSpan(0, theta.Length).CopyTo(theta);
                sqrtT = all[^1];
                if (it % Math.Max(1, iters / 20) == 0 || it == iters) // NFE: rank 0's shard with --distributed
                    metrics?.Write(new TrainingMetrics(it, loss, step.Forward.FunctionEvaluations, step.Backward.FunctionEvaluations, clock.Elapsed.TotalSeconds, adam.LearningRate),
                        ("end_time", sqrtT * sqrtT), ("kinetic", step.Kinetic), ("jacobian", step.JacobianFrobenius));
            }
            if (parallel is not null)
            {
                theta.CopyTo(all, 0);
                parallel.CheckInSync(all, iters);
            }
        });
        if (!s.IsRoot) return null;
        var flow = Flow(TraceEstimator.Exact); // evaluation always with the exact trace
        var test = ToyDatasets.Sample(data, 5000, ref rng);
        var lp = new float[5000];
        var st = flow.LogDensity(FlowRuns.ToFloat(test), lp, ref rng);
        double nll = -lp.Average(v => (double)v);
        var (density, _, _) = FlowRuns.CnfGrid(flow, Lo, Hi, 100, ref rng);
        // the mass check on a wider box: 8gaussians' modes sit at ±2.8 and the model's tails reach past ±4
        var (_, mass, _) = FlowRuns.CnfGrid(flow, -MassBox, MassBox, 150, ref rng);
        var fig = new Figures { Lo = Lo, Hi = Hi };
        fig.Scatter($"{data}: data", test.Take(2000).ToArray(), "#2c3e50");
        fig.Heat($"density (NLL {nll:F2}, ∫p {mass:F3})", density, 100);
        fig.Scatter("samples", FlowRuns.ToDouble(flow.Sample(2000, ref rng)));
        var z = FlowRuns.ToFloat(FlowRuns.Gaussian(1000, 1, ref rng));
        float T = (float)(sqrtT * sqrtT);
        float[] times = [T, 0.5f * T, 0];
        var path = flow.Trajectory(z, times);
        for (int i = 1; i < times.Length; i++)
            fig.Scatter($"base carried to t = {times[i]:F2}", FlowRuns.ToDouble(path.AsSpan(i * 2000, 2000).ToArray()), "#8e44ad");
        fig.Save(Path.Combine(s.OutDir, $"toy_{data}.svg"));
        Checkpoint.Save(Path.Combine(s.OutDir, $"{data}.ckpt"), all, adam, iters, rng);
        if (s.Device is { } device) // fewer samples on ILGPU's CPU accelerator: it is a functional stand-in, slow per kernel launch
            FlowRuns.Log($"{data}: device {device.Name}: " + CnfDevice.Sample<FfjordToySpec>(device, theta, T,
                device.Accelerator.AcceleratorType == ILGPU.Runtime.AcceleratorType.CPU ? 256 : 2000, s.Seed + 11));
        metrics!.Write(new TrainingMetrics(iters, nll, st.FunctionEvaluations, 0, clock.Elapsed.TotalSeconds, adam.LearningRate),
            ("test_nll", nll), ("grid_mass", mass), ("end_time", T));
        return $"{data}: test NLL {nll:F3} nats, ∫p over [−6, 6]² {mass:F4}, T {T:F3}, NFE (test, exact trace) {st.FunctionEvaluations}, {iters} iterations ({s.Trace} trace, {s.Field} field), {clock.Elapsed.TotalSeconds:F0} s";
    }
}
