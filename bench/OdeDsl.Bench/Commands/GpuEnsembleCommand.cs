using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using OdeDsl.Gpu;
using OdeDsl.Gpu.Batched;

namespace OdeDsl.Bench.Commands;

/// <summary>Lorenz (1963) with θ = [σ, ρ, β], the system of DiffEqGPU's ensemble benchmark.</summary>
public static partial class LorenzBenchField
{
    [OdeDynamics]
    internal static Vec F([Shape(3)] Vec h, float t, [Param(3)] Vec θ)
    {
        var (x, y, z) = (h[0], h[1], h[2]);
        return Vec.Of(θ[0] * (y - x), x * (θ[1] - z) - y, x * y - θ[2] * z);
    }
}

/// <summary>
/// <c>gpu-ensemble --device cuda|ilgpu-cpu --problem lorenz|spiral [--gradient adjoint] --n 1000,10000 [--strategy fused|batched|both] [--cpu-max-n M] [--repeats R]</c>: one JSON line
/// per (problem, N, path) with the median wall time and trajectories per second, for the fused ensemble kernel on the
/// device and for our CPU runtime on the same problem in the same run.
/// lorenz: DiffEqGPU's ensemble benchmark (Utkarsh et al. 2024, "Automated translation and accelerated solving of
/// differential equations on multiple GPU platforms"): u0 = (1, 0, 0), θ = (10, 28, 8/3) scaled per trajectory by a
/// uniform random factor in [0, 1) per component, tsit5, t ∈ [0, 1], rtol = atol = 1e-8, only the final state saved.
/// CPU path: batch-1 solves with each trajectory's θ, trajectories spread over the cores (Parallel.For).
/// spiral: the demo's 2→50→2 tanh MLP with one shared θ, N random starts in [−2, 2]², dopri5 (rtol 1e-7, atol 1e-9),
/// t ∈ [0, 1]; CPU path: one per-sample batched solve of all N rows (the generated batched code, two threads at large N).
/// --gradient adjoint: the whole gradient instead (the forward solve, then the adjoint backward pass with dL/dh(t1) = 1,
/// GpuGradients.Adjoint; problem "lorenz+adjoint" / "spiral+adjoint"), against the CPU runtime's Ode.Gradient with
/// Sensitivity.Adjoint() per trajectory (batch 1, so the same steps as the device), trajectories spread over the cores;
/// accepted_steps_mean is then the backward pass's.
/// spiral with --strategy batched (or both): the batched path (BatchedOde: one shared step sequence for the batch, each
/// stage a tiled matrix product per layer over all N rows) against the CPU runtime's shared-step solve of the same rows.
/// Device times include uploads, the kernel and downloads; kernel compilation is excluded (a warm-up solve first).
/// </summary>
public static class GpuEnsembleCommand
{
    public static Command Create()
    {
        var device = new Option<string>("--device") { Description = "cuda (the first CUDA GPU) or ilgpu-cpu (ILGPU's CPU accelerator).", DefaultValueFactory = _ => "cuda" };
        device.AcceptOnlyFromAmong("cuda", "ilgpu-cpu");
        var problem = new Option<string>("--problem") { Description = "lorenz or spiral.", DefaultValueFactory = _ => "lorenz" };
        problem.AcceptOnlyFromAmong("lorenz", "spiral");
        var sizes = new Option<string>("--n") { Description = "Comma-separated trajectory counts.", DefaultValueFactory = _ => "1000,10000" };
        var cpuMax = new Option<int>("--cpu-max-n") { Description = "Largest N also run on the CPU runtime (0: none).", DefaultValueFactory = _ => 100_000 };
        var repeats = new Option<int>("--repeats") { Description = "Timed repeats; the median is reported.", DefaultValueFactory = _ => 3 };
        var gradient = new Option<string>("--gradient") { Description = "none (the solve) or adjoint (forward solve plus adjoint gradient).", DefaultValueFactory = _ => "none" };
        gradient.AcceptOnlyFromAmong("none", "adjoint");
        var strategy = new Option<string>("--strategy") { Description = "spiral: fused (one thread per trajectory, per-sample steps), batched (GEMM-shaped kernels over the batch, shared steps) or both.", DefaultValueFactory = _ => "fused" };
        strategy.AcceptOnlyFromAmong("fused", "batched", "both");
        var command = new Command("gpu-ensemble", "Ensemble throughput: the fused ILGPU kernel vs the CPU runtime (Lorenz as DiffEqGPU, spiral MLP).")
        {
            device, problem, sizes, cpuMax, repeats, gradient, strategy,
        };
        command.SetAction(pr =>
        {
            if (!GpuDevice.TryOpen(pr.GetValue(device)!, out var dev, out var message))
            {
                Console.Error.WriteLine(message);
                return 3;
            }
            using (dev)
            {
                var ns = pr.GetValue(sizes)!.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
                int r = Math.Max(1, pr.GetValue(repeats));
                bool lorenz = pr.GetValue(problem) == "lorenz";
                if (pr.GetValue(gradient) == "adjoint")
                {
                    foreach (int n in ns)
                    {
                        Console.WriteLine(lorenz ? LorenzAdjoint(dev!, n, r, gpu: true) : SpiralAdjoint(dev!, n, r, gpu: true));
                        if (n <= pr.GetValue(cpuMax)) Console.WriteLine(lorenz ? LorenzAdjoint(dev!, n, r, gpu: false) : SpiralAdjoint(dev!, n, r, gpu: false));
                    }
                    return 0;
                }
                string st = pr.GetValue(problem) == "lorenz" ? "fused" : pr.GetValue(strategy)!;
                bool fused = st != "batched", batched = st != "fused";
                foreach (int n in ns)
                {
                    bool cpu = n <= pr.GetValue(cpuMax);
                    if (fused)
                    {
                        Console.WriteLine(pr.GetValue(problem) == "lorenz" ? Lorenz(dev!, n, r, gpu: true) : Spiral(dev!, n, r, gpu: true));
                        if (cpu) Console.WriteLine(pr.GetValue(problem) == "lorenz" ? Lorenz(dev!, n, r, gpu: false) : Spiral(dev!, n, r, gpu: false));
                    }
                    if (batched)
                    {
                        Console.WriteLine(SpiralBatched(dev!, n, r, gpu: true));
                        if (cpu) Console.WriteLine(SpiralBatched(dev!, n, r, gpu: false));
                    }
                }
            }
            return 0;
        });
        return command;
    }

    private static readonly double[] Times01 = [0, 1];

    private static string Lorenz(GpuDevice dev, int n, int repeats, bool gpu)
    {
        var rng = new Random(1);
        var y0 = new double[n * 3];
        var theta = new double[n * 3];
        for (int i = 0; i < n; i++)
        {
            y0[3 * i] = 1;
            theta[3 * i] = 10 * rng.NextDouble(); theta[3 * i + 1] = 28 * rng.NextDouble(); theta[3 * i + 2] = 8.0 / 3 * rng.NextDouble();
        }
        var o = new EnsembleOptions { Method = Methods.Tsit5, RelTol = 1e-8, AbsTol = 1e-8 };
        if (gpu)
        {
            GpuOde.Solve(dev.Accelerator, default(LorenzBenchField.DynamicsDevice.F64), y0[..3], theta[..3], Times01, o); // compile
            EnsembleSolution<double>? last = null;
            var t = Time(repeats, () => last = GpuOde.Solve(dev.Accelerator, default(LorenzBenchField.DynamicsDevice.F64), y0, theta, Times01, o));
            return Json("lorenz", n, dev.Name, t, last!.AcceptedSteps.Average(), last.AllSucceeded);
        }
        var cpuO = new SolveOptions<double> { Method = Methods.Tsit5, RelTol = 1e-8, AbsTol = 1e-8, StepMode = BatchStepMode.PerSample, Output = OutputMode.FinalOnly };
        long accepted = 0; bool ok = true;
        var time = Time(repeats, () =>
        {
            accepted = 0; ok = true;
            Parallel.For(0, n, () => (0L, true), (i, _, acc) =>
            {
                var s = Ode.Solve(new DynamicsRhs<LorenzBenchField.Dynamics, double>(theta[(3 * i)..(3 * i + 3)], 1), y0.AsSpan(3 * i, 3), Times01, cpuO);
                return (acc.Item1 + s.RowStats![0].AcceptedSteps, acc.Item2 && s.Status[0] == SolveStatus.Success);
            }, acc => { Interlocked.Add(ref accepted, acc.Item1); if (!acc.Item2) ok = false; });
        });
        return Json("lorenz", n, $"cpu runtime, {Environment.ProcessorCount} threads", time, (double)accepted / n, ok);
    }

    private static string Spiral(GpuDevice dev, int n, int repeats, bool gpu)
    {
        var rng = new Random(2);
        var theta = Enumerable.Range(0, SpiralBenchField.Dynamics.ParameterCount).Select(_ => (rng.NextDouble() - 0.5) * 0.6).ToArray();
        var y0 = Enumerable.Range(0, 2 * n).Select(_ => rng.NextDouble() * 4 - 2).ToArray();
        if (gpu)
        {
            var o = new EnsembleOptions();
            GpuOde.Solve(dev.Accelerator, default(SpiralBenchField.DynamicsDevice.F64), y0[..2], theta, Times01, o);
            EnsembleSolution<double>? last = null;
            var t = Time(repeats, () => last = GpuOde.Solve(dev.Accelerator, default(SpiralBenchField.DynamicsDevice.F64), y0, theta, Times01, o));
            return Json("spiral", n, dev.Name, t, last!.AcceptedSteps.Average(), last.AllSucceeded);
        }
        var cpuO = new SolveOptions<double> { StepMode = BatchStepMode.PerSample, Output = OutputMode.FinalOnly };
        Solution<double>? sol = null;
        var time = Time(repeats, () => sol = Ode.Solve(new DynamicsRhs<SpiralBenchField.Dynamics, double>(theta, n), y0, Times01, cpuO));
        return Json("spiral", n, "cpu runtime (per-sample batch)", time, sol!.RowStats!.Average(s => s.AcceptedSteps), sol.Status.All(s => s == SolveStatus.Success));
    }

    /// <summary>dL/dh = 1 at the final time, 0 at t0: [2, N, S].</summary>
    private static double[] FinalOnes(int n, int S)
    {
        var dL = new double[2 * n * S];
        Array.Fill(dL, 1.0, n * S, n * S);
        return dL;
    }

    private static string LorenzAdjoint(GpuDevice dev, int n, int repeats, bool gpu)
    {
        var rng = new Random(1);
        var y0 = new double[n * 3];
        var theta = new double[n * 3];
        for (int i = 0; i < n; i++)
        {
            y0[3 * i] = 1;
            theta[3 * i] = 10 * rng.NextDouble(); theta[3 * i + 1] = 28 * rng.NextDouble(); theta[3 * i + 2] = 8.0 / 3 * rng.NextDouble();
        }
        var o = new EnsembleOptions { Method = Methods.Tsit5, RelTol = 1e-8, AbsTol = 1e-8 };
        var cpuO = new SolveOptions<double> { Method = Methods.Tsit5, RelTol = 1e-8, AbsTol = 1e-8 };
        return Adjoint<LorenzBenchField.Dynamics, LorenzBenchField.DynamicsDevice.F64>("lorenz+adjoint", dev, y0, theta, true, o, cpuO, repeats, gpu);
    }

    private static string SpiralAdjoint(GpuDevice dev, int n, int repeats, bool gpu)
    {
        var rng = new Random(2);
        var theta = Enumerable.Range(0, SpiralBenchField.Dynamics.ParameterCount).Select(_ => (rng.NextDouble() - 0.5) * 0.6).ToArray();
        var y0 = Enumerable.Range(0, 2 * n).Select(_ => rng.NextDouble() * 4 - 2).ToArray();
        return Adjoint<SpiralBenchField.Dynamics, SpiralBenchField.DynamicsDevice.F64>("spiral+adjoint", dev, y0, theta, false,
            new EnsembleOptions(), new SolveOptions<double>(), repeats, gpu);
    }

    /// <summary>The whole adjoint gradient of every trajectory: on the device, or per trajectory with the CPU runtime.</summary>
    private static string Adjoint<TDyn, TField>(string name, GpuDevice dev, double[] y0, double[] theta, bool thetaPerTrajectory,
        EnsembleOptions o, SolveOptions<double> cpuO, int repeats, bool gpu)
        where TDyn : IOdeDynamics<TDyn> where TField : struct, IDeviceDynamics<double>
    {
        int S = TDyn.StateSize, P = TDyn.ParameterCount, n = y0.Length / S;
        var dL = FinalOnes(n, S);
        if (gpu)
        {
            var ad = new GpuAdjointOptions { Layout = TDyn.Layout }; // the CPU's norm channels, so both take the same steps
            GpuGradients.Adjoint(dev.Accelerator, default(TField), y0[..S], theta[..P], Times01, FinalOnes(1, S), o, ad); // compile
            EnsembleGradients<double>? last = null;
            var t = Time(repeats, () => last = GpuGradients.Adjoint(dev.Accelerator, default(TField), y0, theta, Times01, dL, o, ad));
            return Json(name, n, dev.Name, t, last!.BackwardAcceptedSteps!.Average(), last.AllSucceeded);
        }
        long accepted = 0; bool ok = true;
        var sensitivity = Sensitivity.Adjoint();
        var time = Time(repeats, () =>
        {
            accepted = 0; ok = true;
            Parallel.For(0, n, () => (0L, true), (i, _, acc) =>
            {
                try
                {
                    var th = thetaPerTrajectory ? theta[(P * i)..(P * i + P)] : theta;
                    var g = Ode.Gradient<TDyn, double>(y0.AsSpan(S * i, S), Times01, th, FinalOnes(1, S), sensitivity, cpuO);
                    return (acc.Item1 + g.Backward.AcceptedSteps, acc.Item2);
                }
                catch (OdeSolveException) { return (acc.Item1, false); }
            }, acc => { Interlocked.Add(ref accepted, acc.Item1); if (!acc.Item2) ok = false; });
        });
        return Json(name, n, $"cpu runtime (batch-1 adjoints), {Environment.ProcessorCount} threads", time, (double)accepted / n, ok);
    }

    /// <summary>The spiral MLP with one shared step sequence: BatchedOde on the device, or the CPU runtime's shared mode.</summary>
    private static string SpiralBatched(GpuDevice dev, int n, int repeats, bool gpu)
    {
        var rng = new Random(2);
        var theta = Enumerable.Range(0, SpiralBenchField.Dynamics.ParameterCount).Select(_ => (rng.NextDouble() - 0.5) * 0.6).ToArray();
        var y0 = Enumerable.Range(0, 2 * n).Select(_ => rng.NextDouble() * 4 - 2).ToArray();
        var o = new SolveOptions<double> { Output = OutputMode.FinalOnly }; // dopri5, rtol 1e-7, atol 1e-9, shared steps
        Solution<double>? sol = null;
        if (gpu)
        {
            var L = SpiralBenchField.Dynamics.Layout;
            var net = new DeviceNet(2, L.Count).Activation(DeviceActivation.Cube)
                .Linear(2, 50, L["W1"].Offset, L["b1"].Offset).Activation(DeviceActivation.Tanh)
                .Linear(50, 2, L["W2"].Offset, L["b2"].Offset);
            BatchedOde.Solve(dev.Accelerator, net, y0[..2], theta, Times01, o); // compile
            var t = Time(repeats, () => sol = BatchedOde.Solve(dev.Accelerator, net, y0, theta, Times01, o));
            return Json("spiral-batched", n, dev.Name + " (batched, shared steps)", t, sol!.Stats.AcceptedSteps, sol.Succeeded);
        }
        var time = Time(repeats, () => sol = Ode.Solve(new DynamicsRhs<SpiralBenchField.Dynamics, double>(theta, n), y0, Times01, o));
        return Json("spiral-batched", n, "cpu runtime (shared-step batch)", time, sol!.Stats.AcceptedSteps, sol.Succeeded);
    }

    private static double Time(int repeats, Action run)
    {
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            run();
            times[i] = sw.Elapsed.TotalSeconds;
        }
        Array.Sort(times);
        return times[repeats / 2];
    }

    private static string Json(string problem, int n, string path, double seconds, double acceptedMean, bool allOk) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{{\"command\":\"gpu-ensemble\",\"problem\":\"{problem}\",\"n\":{n},\"path\":\"{path}\",\"seconds_median\":{seconds:G6},\"trajectories_per_second\":{n / seconds:G6},\"accepted_steps_mean\":{acceptedMean:G6},\"all_succeeded\":{(allOk ? "true" : "false")}}}");
}
