using System.CommandLine;
using System.Globalization;

namespace OdeDsl.Bench.Commands;

/// <summary>
/// <c>memory --sensitivity adjoint|backprop|checkpointed --steps N [--checkpoints K]</c>: one gradient through a fixed-step rk4 solve of N steps on
/// ode_demo's field at batch 256 (t from 0 to 1, loss = Σ h(1)), reporting the managed heap's peak above the baseline.
/// </summary>
/// <remarks>
/// peak_bytes: the largest <see cref="GC.GetTotalMemory(bool)"/> (without forcing a collection) seen by a 1 kHz sampler
/// thread and right after the forward and the backward pass, minus the fully collected heap before the gradient.
/// It counts managed objects only (live plus not yet collected garbage, which the gen-0 budget bounds), not native memory.
/// allocated_bytes: <see cref="GC.GetTotalAllocatedBytes(bool)"/> during the gradient (everything allocated, freed or not).
/// </remarks>
public static class MemoryCommand
{
    public const int Batch = 256;

    public static Command Create()
    {
        var sensitivity = new Option<string>("--sensitivity")
        {
            Description = "adjoint (constant memory), backprop (memory grows with steps) or checkpointed (K checkpoints + one segment's dense output).",
            DefaultValueFactory = _ => "adjoint",
        };
        sensitivity.AcceptOnlyFromAmong("adjoint", "backprop", "checkpointed");
        var checkpoints = new Option<int?>("--checkpoints") { Description = "Checkpoints of --sensitivity checkpointed (default: round(√steps))." };
        var steps = new Option<int>("--steps") { Description = "Number of rk4 steps.", DefaultValueFactory = _ => 100 };
        var reference = new Option<string?>("--reference") { Description = "Path of spiral_problem.json (weights mlp_seed0)." };
        var command = new Command("memory", "Peak managed memory of one rk4 gradient at batch 256.") { sensitivity, steps, checkpoints, reference };
        command.SetAction(pr =>
        {
            int n = pr.GetValue(steps);
            if (n < 1) { Console.Error.WriteLine("--steps must be ≥ 1."); return 2; }
            int k = pr.GetValue(checkpoints) ?? Math.Max(1, (int)Math.Round(Math.Sqrt(n)));
            if (k < 1) { Console.Error.WriteLine("--checkpoints must be ≥ 1."); return 2; }
            var problem = SpiralBenchProblem.Load(pr.GetValue(reference));
            Console.WriteLine(Run(problem, pr.GetValue(sensitivity)!, n, k));
            return 0;
        });
        return command;
    }

    internal static string Run(SpiralBenchProblem problem, string sensitivity, int steps, int checkpoints = 1)
    {
        double[] theta = problem.Theta;
        double[] y0 = problem.StartStates<double>(Batch);
        double[] times = [0.0, 1.0];
        var options = new SolveOptions<double> { Method = Methods.Rk4, FixedStep = 1.0 / steps, ThrowOnFailure = true };
        var sens = sensitivity switch
        {
            "backprop" => Sensitivity.Backprop,
            "checkpointed" => Sensitivity.CheckpointedAdjoint(checkpoints),
            _ => Sensitivity.Adjoint(),
        };
        var dLoss = new double[times.Length * Batch * 2];
        Array.Fill(dLoss, 1.0, Batch * 2, Batch * 2); // L = Σ h(t₁)

        // Warm-up on a short solve so JIT and static tables are not counted.
        Ode.Forward<SpiralBenchField.Dynamics, double>(y0, times, theta, sens, new SolveOptions<double> { Method = Methods.Rk4, FixedStep = 0.5 }).Backward(dLoss);

        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
        long baseline = GC.GetTotalMemory(forceFullCollection: true);
        long peak = baseline;
        using var stop = new CancellationTokenSource();
        var sampler = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                long now = GC.GetTotalMemory(false);
                if (now > Volatile.Read(ref peak)) Interlocked.Exchange(ref peak, now);
                Thread.Sleep(1);
            }
        }) { IsBackground = true };
        sampler.Start();
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var forward = Ode.Forward<SpiralBenchField.Dynamics, double>(y0, times, theta, sens, options);
        long afterForward = GC.GetTotalMemory(false);
        var gradients = forward.Backward(dLoss);
        long afterBackward = GC.GetTotalMemory(false);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        stop.Cancel();
        sampler.Join();
        GC.KeepAlive(forward);
        GC.KeepAlive(gradients);
        long peakBytes = Math.Max(Math.Max(Interlocked.Read(ref peak), afterForward), afterBackward) - baseline;
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"bench\":\"memory\",\"sensitivity\":\"{sensitivity}\",\"steps\":{steps},{(sensitivity == "checkpointed" ? $"\"checkpoints\":{checkpoints}," : "")}\"batch\":{Batch},\"peak_bytes\":{peakBytes},\"allocated_bytes\":{allocated},\"nfe_forward\":{gradients.Forward.FunctionEvaluations},\"nfe_backward\":{gradients.Backward.FunctionEvaluations}}}");
    }
}
