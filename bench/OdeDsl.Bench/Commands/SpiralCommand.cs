using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Numerics;

namespace OdeDsl.Bench.Commands;

/// <summary>
/// <c>spiral --batch B --mode forward|grad --sensitivity adjoint|backprop|seminorm|checkpointed [--float32|--float64]</c>: one JSON line with
/// the evaluation counts and the median wall time of ≥ 5 repeats on ode_demo's field (dopri5, rtol 1e-7, atol 1e-9).
/// forward: B rows from true_y[floor(b·990/B)] through all 1000 output times.
/// grad: B windows of 10 points from the same starts, loss mean |pred − true|, one forward and backward pass.
/// min_seconds is the fastest repeat: on a machine shared with other work it moves less than the median, so compare
/// before/after with it (and many repeats, e.g. --repeats 201).
/// </summary>
public static class SpiralCommand
{
    public static Command Create()
    {
        var batch = new Option<int>("--batch") { Description = "Batch size B.", DefaultValueFactory = _ => 1 };
        var mode = new Option<string>("--mode") { Description = "forward (solve through 1000 times) or grad (one training step's gradient).", DefaultValueFactory = _ => "forward" };
        mode.AcceptOnlyFromAmong("forward", "grad");
        var sensitivity = new Option<string>("--sensitivity")
        {
            Description = "Gradient method for --mode grad: adjoint, backprop, seminorm (adjoint with the seminorm) or checkpointed (adjoint, 3 checkpoints).",
            DefaultValueFactory = _ => "adjoint",
        };
        sensitivity.AcceptOnlyFromAmong("adjoint", "backprop", "seminorm", "checkpointed");
        var f32 = new Option<bool>("--float32") { Description = "Single precision." };
        var f64 = new Option<bool>("--float64") { Description = "Double precision (the default; torchdiffeq's reference counts are float64)." };
        var repeats = new Option<int>("--repeats") { Description = "Timed repeats (≥ 5); the median is reported.", DefaultValueFactory = _ => 7 };
        var reference = new Option<string?>("--reference") { Description = "Path of spiral_problem.json (default: the repository's tests/OdeDsl.Tests/Data copy, else solved here)." };
        var command = new Command("spiral", "ode_demo spiral field: forward solve or gradient timing and evaluation counts.")
        {
            batch, mode, sensitivity, f32, f64, repeats, reference,
        };
        command.SetAction(pr =>
        {
            int b = pr.GetValue(batch), r = pr.GetValue(repeats);
            if (b < 1) { Console.Error.WriteLine("--batch must be ≥ 1."); return 2; }
            if (r < 5) { Console.Error.WriteLine("--repeats must be ≥ 5."); return 2; }
            if (pr.GetValue(f32) && pr.GetValue(f64)) { Console.Error.WriteLine("Choose one of --float32 and --float64."); return 2; }
            var problem = SpiralBenchProblem.Load(pr.GetValue(reference));
            string m = pr.GetValue(mode)!, s = pr.GetValue(sensitivity)!;
            Console.WriteLine(pr.GetValue(f32) ? Run<float>(problem, b, m, s, r) : Run<double>(problem, b, m, s, r));
            return 0;
        });
        return command;
    }

    internal static string Run<T>(SpiralBenchProblem problem, int batch, string mode, string sensitivity, int repeats)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var options = new SolveOptions<T> { RelTol = T.CreateChecked(1e-7), AbsTol = T.CreateChecked(1e-9), ThrowOnFailure = true };
        T[] theta = problem.Theta.Select(T.CreateChecked).ToArray();
        T[] y0 = problem.StartStates<T>(batch);
        Func<(long Forward, long Backward)> once;
        if (mode == "forward")
        {
            T[] times = problem.Times.Select(T.CreateChecked).ToArray();
            var rhs = new DynamicsRhs<SpiralBenchField.Dynamics, T>(theta, batch);
            once = () => (Ode.Solve(rhs, y0, times, options).Stats.FunctionEvaluations, 0);
        }
        else
        {
            const int window = 10;
            T[] times = problem.Times.Take(window).Select(T.CreateChecked).ToArray();
            var target = new T[window * batch * 2];
            for (int b = 0; b < batch; b++)
            {
                int s = (int)((long)b * 990 / batch);
                for (int i = 0; i < window; i++)
                    for (int c = 0; c < 2; c++)
                        target[(i * batch + b) * 2 + c] = T.CreateChecked(problem.TrueY[2 * (s + i) + c]);
            }
            var dLoss = new T[target.Length];
            var sens = sensitivity switch
            {
                "backprop" => Sensitivity.Backprop,
                "seminorm" => Sensitivity.Adjoint(new AdjointOptions { Seminorm = true }),
                "checkpointed" => Sensitivity.CheckpointedAdjoint(3),
                _ => Sensitivity.Adjoint(),
            };
            once = () =>
            {
                var fwd = Ode.Forward<SpiralBenchField.Dynamics, T>(y0, times, theta, sens, options);
                var pred = fwd.Solution.States;
                T n = T.CreateChecked(pred.Length);
                for (int i = 0; i < pred.Length; i++)
                {
                    T d = pred[i] - target[i];
                    dLoss[i] = d == T.Zero ? T.Zero : T.CopySign(T.One, d) / n;
                }
                var g = fwd.Backward(dLoss);
                return (g.Forward.FunctionEvaluations, g.Backward.FunctionEvaluations);
            };
        }

        // Warm-up for at least 2 s and 3 calls: tiered compilation promotes the hot methods to optimised code only after
        // they have run a while, and a short-lived bench would otherwise time tier-0 code.
        var counts = once();
        long warmStart = Stopwatch.GetTimestamp();
        for (int calls = 1; calls < 3 || Stopwatch.GetElapsedTime(warmStart).TotalSeconds < 2; calls++) once();
        var seconds = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            long start = Stopwatch.GetTimestamp();
            var c = once();
            seconds[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (c != counts) throw new InvalidOperationException($"Evaluation counts changed between repeats: {counts} then {c}.");
        }
        Array.Sort(seconds);
        double median = repeats % 2 == 1 ? seconds[repeats / 2] : (seconds[repeats / 2 - 1] + seconds[repeats / 2]) / 2;
        string dtype = typeof(T) == typeof(float) ? "float32" : "float64";
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"bench\":\"spiral\",\"batch\":{batch},\"mode\":\"{mode}\",\"sensitivity\":\"{(mode == "grad" ? sensitivity : "none")}\",\"dtype\":\"{dtype}\",\"nfe_forward\":{counts.Forward},\"nfe_backward\":{counts.Backward},\"seconds\":{median:G6},\"min_seconds\":{seconds[0]:G6},\"repeats\":{repeats},\"threads\":{Environment.ProcessorCount}}}");
    }
}
