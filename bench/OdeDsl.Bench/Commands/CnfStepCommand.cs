using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Numerics;

namespace OdeDsl.Bench.Commands;

/// <summary>
/// <c>cnf-step [--model hyper|mlp|both] [--sensitivity backprop|adjoint|both] [--repeats N] [--float64]</c>: one CNF
/// training step (loss and θ-gradient) on exactly shared/reference/cnf_two_circles.json — 512 points, (z, Δlog p) with
/// the exact trace from t = 10 to 0, dopri5 rtol = atol = 1e-5, float32 — printing one JSON line per case with the loss,
/// the evaluation counts, the median step time of the repeats and its ratio to torchdiffeq's recorded 2-thread median.
/// </summary>
public static class CnfStepCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "hyper (cnf.py's hypernetwork CNF), mlp, or both.", DefaultValueFactory = _ => "both" };
        model.AcceptOnlyFromAmong("hyper", "mlp", "both");
        var sensitivity = new Option<string>("--sensitivity") { Description = "backprop, adjoint, or both.", DefaultValueFactory = _ => "both" };
        sensitivity.AcceptOnlyFromAmong("backprop", "adjoint", "both");
        var repeats = new Option<int>("--repeats") { Description = "Timed repeats (≥ 3) after warm-up steps until the JIT has settled; the median is reported.", DefaultValueFactory = _ => 21 };
        var f64 = new Option<bool>("--float64") { Description = "Double precision (the reference is float32)." };
        var reference = new Option<string?>("--reference") { Description = "Path of cnf_two_circles.json (default: tests/OdeDsl.Tests/Data's copy)." };
        var command = new Command("cnf-step", "One CNF gradient step on torchdiffeq's two-circles reference: loss, evaluations, time vs torchdiffeq.")
        {
            model, sensitivity, repeats, f64, reference,
        };
        command.SetAction(pr =>
        {
            int r = pr.GetValue(repeats);
            if (r < 3) { Console.Error.WriteLine("--repeats must be ≥ 3."); return 2; }
            var problem = CnfStepProblem.Load(pr.GetValue(reference));
            string m = pr.GetValue(model)!, s = pr.GetValue(sensitivity)!;
            string[] models = m == "both" ? ["hyper", "mlp"] : [m];
            string[] modes = s == "both" ? ["backprop", "adjoint"] : [s];
            foreach (var mm in models)
                foreach (var mode in modes)
                    Console.WriteLine(pr.GetValue(f64) ? Run<double>(problem, mm, mode, r) : Run<float>(problem, mm, mode, r));
            return 0;
        });
        return command;
    }

    private const int MinWarmupSteps = 60;

    private static string Run<T>(CnfStepProblem problem, string model, string mode, int repeats)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var first = CnfStepProblem.Step<T>(problem, model, mode); // the figures
        // Warm up until tiered compilation has settled: after one step most methods have passed the call-count threshold
        // and are being recompiled at tier 1 on a background thread, which otherwise competes with the timed steps for the
        // two cores (measured: hyper/backprop 42.8 ms CPU per step with a one-step warm-up, 9.0 ms without tiering;
        // docs/performance.md). Each round sleeps past the tiering delay so the queued recompilations can run. A cold
        // process also needs ~50 steps before its medians settle (31-repeat runs measured 30–130 % above 201-repeat ones,
        // docs/performance.md, "cnf-step mlp/backprop: a spinning helper thread"), so at least MinWarmupSteps are run.
        int warmups = 1;
        for (long before = -1; warmups < 20 && System.Runtime.JitInfo.GetCompiledMethodCount() != before; warmups++)
        {
            before = System.Runtime.JitInfo.GetCompiledMethodCount();
            Thread.Sleep(200);
            CnfStepProblem.Step<T>(problem, model, mode);
        }
        for (; warmups < MinWarmupSteps; warmups++) CnfStepProblem.Step<T>(problem, model, mode);
        var times = new double[repeats];
        var cpu = new double[repeats];
        var proc = Process.GetCurrentProcess();
        long allocated0 = GC.GetTotalAllocatedBytes(precise: true);
        int gen0 = GC.CollectionCount(0), gen2 = GC.CollectionCount(2);
        for (int i = 0; i < repeats; i++)
        {
            proc.Refresh();
            var c0 = proc.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            CnfStepProblem.Step<T>(problem, model, mode);
            times[i] = sw.Elapsed.TotalMilliseconds;
            proc.Refresh();
            cpu[i] = (proc.TotalProcessorTime - c0).TotalMilliseconds;
        }
        double allocatedMb = (GC.GetTotalAllocatedBytes(precise: true) - allocated0) / 1048576.0 / repeats;
        double gen0PerStep = (GC.CollectionCount(0) - gen0) / (double)repeats, gen2PerStep = (GC.CollectionCount(2) - gen2) / (double)repeats;
        Array.Sort(times);
        Array.Sort(cpu);
        double median = times[repeats / 2];
        var torch = CnfStepProblem.Torch[model];
        double torchMs = mode == "adjoint" ? torch.AdjointMs : torch.BackpropMs;
        var c = CultureInfo.InvariantCulture;
        return string.Format(c,
            "{{\"model\":\"{0}\",\"mode\":\"{1}\",\"dtype\":\"{2}\",\"loss\":{3:R},\"torch_loss\":{4},\"nfe_forward\":{5},\"nfe_backward\":{6}," +
            "\"torch_nfe\":\"{7}/{8}\",\"median_ms\":{9:F2},\"min_ms\":{10:F2},\"median_cpu_ms\":{14:F2},\"torch_ms\":{11},\"speedup\":{12:F1},\"repeats\":{13},\"threads\":{15}," +
            "\"alloc_mb_per_step\":{16:F2},\"gen0_per_step\":{17:F2},\"gen2_per_step\":{18:F2},\"warmup_steps\":{19}}}",
            model, mode, typeof(T) == typeof(float) ? "float32" : "float64", first.Loss, torch.Loss, first.ForwardNfe, first.BackwardNfe,
            torch.ForwardNfe, mode == "adjoint" ? torch.AdjointBackwardNfe : 0, median, times[0], torchMs, torchMs / median, repeats, cpu[repeats / 2], Environment.ProcessorCount,
            allocatedMb, gen0PerStep, gen2PerStep, warmups);
    }
}
