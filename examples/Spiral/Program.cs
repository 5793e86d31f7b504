using System.CommandLine;
using System.Diagnostics;
using System.Numerics;
using OdeDsl;
using OdeDsl.Training;
using OdeDsl.Training.Distributed;
using Spectre.Console;
using Spiral;

// The paper code's ode_demo (torchdiffeq examples/ode_demo.py) with OdeDsl: learn dy/dt = (y³)·A from windows of
// its own trajectory. `dotnet run -c Release --project examples/Spiral -- --help` lists the options.

var iterations = new Option<int>("--iterations") { Description = "Training iterations (ode_demo: 2000).", DefaultValueFactory = _ => 2000 };
var testEvery = new Option<int>("--test-every") { Description = "Evaluate the whole-trajectory test loss every N iterations (ode_demo: 20).", DefaultValueFactory = _ => 20 };
var plotEvery = new Option<int>("--plot-every") { Description = "Write the SVG figure every N iterations (and at the end).", DefaultValueFactory = _ => 200 };
var sensitivity = new Option<string>("--sensitivity") { Description = "Gradient method: adjoint (constant memory) or backprop (through the solver).", DefaultValueFactory = _ => "adjoint" };
sensitivity.AcceptOnlyFromAmong("adjoint", "backprop");
var outDir = new Option<string>("--out") { Description = "Folder for figures, metrics.jsonl and checkpoint.bin.", DefaultValueFactory = _ => Path.Combine("out", "spiral") };
var seed = new Option<ulong>("--seed") { Description = "Seed of the initial weights and of the batch sampler.", DefaultValueFactory = _ => 0UL };
var learningRate = new Option<double>("--lr") { Description = "RMSprop learning rate (ode_demo: 1e-3).", DefaultValueFactory = _ => 1e-3 };
var schedule = new Option<string>("--lr-schedule")
{
    Description = "constant (ode_demo) or cosine (decays --lr to 1% over the run, so the last iterations settle instead of bouncing).",
    DefaultValueFactory = _ => "cosine",
};
var batchSize = new Option<int>("--batch-size") { Description = "Windows per batch (ode_demo: 20).", DefaultValueFactory = _ => 20 };
var batchTime = new Option<int>("--batch-time") { Description = "Points per window (ode_demo: 10).", DefaultValueFactory = _ => 10 };
var quick = new Option<bool>("--quick") { Description = "Smoke run: 40 iterations, test every 20 (seconds)." };
var float32 = new Option<bool>("--float32") { Description = "Train in float32 (as PyTorch does) instead of float64." };
var resume = new Option<bool>("--resume") { Description = "Continue from <out>/checkpoint.bin." };
var plain = new Option<bool>("--plain") { Description = "Plain progress lines even on an interactive terminal." };
var distributed = new Option<bool>("--distributed")
{
    Description = "Data-parallel over MPI (start with mpirun -np N): each rank solves its shard of every batch; rank 0 writes the output. Needs Open MPI.",
};

var device = new Option<string>("--device") { Description = "cpu (the CPU runtime), cuda or ilgpu-cpu: also solve the learned field with the GPU kernels (OdeDsl.Gpu) after training.", DefaultValueFactory = _ => "cpu" };
device.AcceptOnlyFromAmong("cpu", "cuda", "ilgpu-cpu");

var root = new RootCommand("Neural ODE spiral demo (Chen et al. 2018, ode_demo): learn a 2-50-2 tanh field from trajectory windows.")
{
    iterations, testEvery, plotEvery, sensitivity, outDir, seed, learningRate, schedule, batchSize, batchTime, quick, float32, resume, plain, distributed, device,
};
root.SetAction(pr =>
{
    var settings = new SpiralSettings(
        Iterations: pr.GetValue(quick) ? 40 : pr.GetValue(iterations),
        TestEvery: pr.GetValue(quick) ? 20 : pr.GetValue(testEvery),
        PlotEvery: pr.GetValue(quick) ? 40 : pr.GetValue(plotEvery),
        Sensitivity: pr.GetValue(sensitivity)!,
        OutDir: pr.GetValue(outDir)!,
        Seed: pr.GetValue(seed),
        Resume: pr.GetValue(resume),
        Plain: pr.GetValue(plain),
        LearningRate: pr.GetValue(learningRate),
        Schedule: pr.GetValue(schedule)!,
        BatchSize: pr.GetValue(batchSize),
        BatchTime: pr.GetValue(batchTime),
        Distributed: pr.GetValue(distributed));
    if (settings.Iterations < 1 || settings.TestEvery < 1 || settings.PlotEvery < 1 || settings.BatchSize < 1 || settings.BatchTime < 2
        || settings.BatchSize > SpiralProblem.DataSize - settings.BatchTime || !(settings.LearningRate > 0) || double.IsInfinity(settings.LearningRate)
        || settings.Schedule is not ("constant" or "cosine") || settings.Sensitivity is not ("adjoint" or "backprop"))
    {
        Console.Error.WriteLine($"--iterations, --test-every, --plot-every and --batch-size must be ≥ 1, --batch-time ≥ 2, " +
                                $"--batch-size ≤ {SpiralProblem.DataSize} − batch-time, --lr finite and > 0, " +
                                "--lr-schedule constant|cosine, --sensitivity adjoint|backprop.");
        return 2;
    }
    OdeDsl.Gpu.GpuDevice? gpu = null;
    if (pr.GetValue(device) != "cpu" && !OdeDsl.Gpu.GpuDevice.TryOpen(pr.GetValue(device)!, out gpu, out var why))
    {
        Console.Error.WriteLine(why);
        return 3;
    }
    using var deviceScope = gpu;
    if (!settings.Distributed) return pr.GetValue(float32) ? SpiralRun.Run<float>(settings, null, gpu) : SpiralRun.Run<double>(settings, null, gpu);
    ProcessGroup group;
    try { group = ProcessGroup.InitializeMpi(); }
    catch (MpiUnavailableException e) { Console.Error.WriteLine(e.Message); return 2; }
    using (group)
    {
        if (settings.BatchSize < group.Size)
        {
            if (group.IsRoot) Console.Error.WriteLine($"--batch-size {settings.BatchSize} is smaller than the {group.Size} ranks: every rank needs a window.");
            return 2;
        }
        return pr.GetValue(float32) ? SpiralRun.Run<float>(settings, group, gpu) : SpiralRun.Run<double>(settings, group, gpu);
    }
});
return root.Parse(args).Invoke();

internal sealed record SpiralSettings(int Iterations, int TestEvery, int PlotEvery, string Sensitivity, string OutDir, ulong Seed, bool Resume, bool Plain,
    double LearningRate, string Schedule, int BatchSize, int BatchTime, bool Distributed);

internal static class SpiralRun
{
    /// <summary>Trains; with a <paramref name="group"/> (--distributed) data-parallel, rank 0 alone writing output; with a
    /// <paramref name="gpu"/> (--device) the learned field is also solved on that device and compared.</summary>
    public static int Run<T>(SpiralSettings s, ProcessGroup? group, OdeDsl.Gpu.GpuDevice? gpu) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var parallel = group is null ? null : new DataParallel<T>(group, SpiralField.Dynamics.ParameterCount);
        if (parallel is null) return Train<T>(s, null, gpu);
        // A fault (non-finite loss on any rank, an exception on one, a rank killed) stops every rank naming rank and step.
        return parallel.RunGuarded(() => Train(s, parallel, gpu));
    }

    private static int Train<T>(SpiralSettings s, DataParallel<T>? parallel, OdeDsl.Gpu.GpuDevice? gpu) where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool root = parallel is null || parallel.Group.IsRoot;
        TextWriter log = root ? Console.Out : TextWriter.Null;
        if (root) Directory.CreateDirectory(s.OutDir);
        var clock = Stopwatch.StartNew();
        var problem = new SpiralProblem();
        var sens = s.Sensitivity == "backprop" ? Sensitivity.Backprop : Sensitivity.Adjoint();
        var schedule = s.Schedule == "cosine"
            ? LearningRateSchedule.Cosine(s.LearningRate, s.Iterations, minimum: s.LearningRate / 100)
            : LearningRateSchedule.Constant(s.LearningRate);
        var trainer = new SpiralTrainer<T>(problem, sens, s.Seed, s.BatchTime, s.BatchSize, s.LearningRate, schedule, parallel);
        string checkpoint = Path.Combine(s.OutDir, "checkpoint.bin");
        if (s.Resume && root)
        {
            trainer.LoadCheckpoint(checkpoint);
            log.WriteLine($"Resumed from {checkpoint} at iteration {trainer.Iteration}.");
        }
        if (parallel is not null)
        {
            trainer.Synchronize(parallel); // θ, optimiser state, iteration and RNG from rank 0
            log.WriteLine($"Distributed: {parallel.Group.Size} ranks ({parallel.Group.Description}), each solving {s.BatchSize / parallel.Group.Size}–{(s.BatchSize + parallel.Group.Size - 1) / parallel.Group.Size} " +
                          $"of the {s.BatchSize} windows; gradients summed in rank order, {parallel.BytesSentPerStep} bytes per rank per step.");
        }
        log.WriteLine($"Spiral (ode_demo): {SpiralField.Dynamics.ParameterCount} parameters, {typeof(T).Name}, {s.Sensitivity}, " +
                          $"dopri5 rtol 1e-7 atol 1e-9, RMSprop lr {s.LearningRate:G3} ({s.Schedule}), batch {s.BatchSize} × {s.BatchTime} points; true trajectory took {problem.TrueSolveStats.FunctionEvaluations} evaluations.");

        var (initialLoss, _, _) = root ? trainer.Test() : (double.NaN, null!, default);
        long nfeForward = 0, nfeBackward = 0, steps = 0;
        double lastTest = initialLoss, bestTest = initialLoss;
        var recentTests = new Queue<double>();
        var trainClock = Stopwatch.StartNew();
        using var metrics = root ? new MetricsWriter(Path.Combine(s.OutDir, "metrics.jsonl"), append: s.Resume) : null;
        void Loop(IProgressReporter reporter)
        {
            while (trainer.Iteration < s.Iterations)
            {
                var (loss, fwd, bwd) = trainer.Step();
                nfeForward += fwd.FunctionEvaluations; nfeBackward += bwd.FunctionEvaluations; steps++;
                long it = trainer.Iteration;
                bool test = it % s.TestEvery == 0 || it == s.Iterations, plot = it % s.PlotEvery == 0 || it == s.Iterations;
                if (!test && !plot) continue;
                if (plot && parallel is not null) parallel.CheckInSync(trainer.Theta, it); // collective: every rank
                if (!root) continue;
                var (testLoss, prediction, _) = trainer.Test();
                lastTest = testLoss; bestTest = Math.Min(bestTest, testLoss);
                recentTests.Enqueue(testLoss);
                if (recentTests.Count > 10) recentTests.Dequeue();
                var m = new TrainingMetrics(it, testLoss, fwd.FunctionEvaluations, bwd.FunctionEvaluations, trainClock.Elapsed.TotalSeconds, trainer.Optimizer.LearningRate);
                metrics!.Write(m, ("batch_loss", loss));
                reporter.Report(m);
                if (plot)
                {
                    SpiralFigures.Write(Path.Combine(s.OutDir, $"spiral_{it:D5}.svg"), problem, prediction, trainer.Theta, it);
                    trainer.SaveCheckpoint(checkpoint);
                }
            }
        }
        if (root) TrainingProgress.Run("training", s.Iterations, Loop, s.Plain);
        else Loop(new SilentReporter());
        trainClock.Stop();
        if (!root) return 0;

        var table = new Table().AddColumn("quantity").AddColumn(new TableColumn("value").RightAligned());
        void Row(string k, string v) => table.AddRow(Markup.Escape(k), Markup.Escape(v));
        Row("iterations", $"{trainer.Iteration}");
        Row("sensitivity / precision", $"{s.Sensitivity} / {typeof(T).Name}");
        Row("test loss at start", $"{initialLoss:F4}");
        Row("final test loss (mean |pred − true|)", $"{lastTest:F4}");
        Row("best test loss", $"{bestTest:F4}");
        // The loss of a single evaluation jumps around (as in ode_demo); the median of the last ten is the steadier figure.
        Row("median of the last 10 test losses", recentTests.Count == 0 ? "-" : $"{Median(recentTests):F4}");
        Row("mean NFE per step, forward / backward", steps == 0 ? "-" : $"{(double)nfeForward / steps:F1} / {(double)nfeBackward / steps:F1}");
        Row("training time", $"{trainClock.Elapsed.TotalSeconds:F1} s ({(steps == 0 ? 0 : 1000 * trainClock.Elapsed.TotalSeconds / steps):F2} ms/step)");
        if (parallel is not null && parallel.Reductions > 0)
        {
            Row("ranks", $"{parallel.Group.Size} (Open MPI)");
            Row("gradient reduction per step (incl. waiting)", $"{1000 * parallel.ReduceTime.TotalSeconds / parallel.Reductions:F3} ms, {parallel.BytesSentPerStep} bytes sent per rank");
        }
        Row("total time", $"{clock.Elapsed.TotalSeconds:F1} s");
        Row("output", Path.GetFullPath(s.OutDir));
        AnsiConsole.Write(table);
        if (gpu is not null && root) SpiralDevice.Report(gpu, problem, trainer.Theta, trainer.Test().Prediction);
        Console.WriteLine($"Final test loss: {lastTest:F6}");
        return double.IsFinite(lastTest) ? 0 : 1;
    }

    private sealed class SilentReporter : IProgressReporter
    {
        public void Report(in TrainingMetrics metrics) { }
        public void Message(string text) { }
    }

    private static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}
