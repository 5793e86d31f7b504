using System.Diagnostics;
using System.Text.Json;
using OdeDsl.Data;
using OdeDsl.Training;
using OdeDsl.Training.Distributed;
using Spectre.Console;

namespace Mnist;

/// <summary>One training run of one model: progress, metrics, checkpoints, the test pass and the summary.</summary>
public static class MnistRun
{
    public const int QuickEpochs = 2;
    public const double QuickTolerance = 1e-2;
    public static readonly double[] SweepTolerances = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5];

    /// <summary>Trains and tests; with a <paramref name="group"/> (--distributed) data-parallel, rank 0 alone testing and
    /// writing output. Returns the exit code (2: more ranks than the smallest batch; 3/4: a fault stopped every rank).</summary>
    public static int Run(TrainSettings s, MnistDataset data, string outDir, bool resume, bool sweep, double maxMinutes, bool plain, bool quick,
        ProcessGroup? group = null)
    {
        var clock = Stopwatch.StartNew();
        var trainer = new MnistTrainer<float>(s, data.Train, data.Test, group);
        if (trainer.Parallel is not { } parallel) return Train(trainer, s, outDir, resume, sweep, maxMinutes, plain, quick, clock);
        if (trainer.SmallestBatch < parallel.Group.Size)
        {
            if (parallel.Group.IsRoot)
                Console.Error.WriteLine($"A batch of {trainer.SmallestBatch} images (--batch {s.Batch} over {trainer.TrainCount} images) cannot give each of {parallel.Group.Size} ranks an image; use fewer ranks.");
            return 2;
        }
        // A fault (non-finite loss on any rank, an exception on one, a rank killed) stops every rank naming rank and step.
        return parallel.RunGuarded(() => Train(trainer, s, outDir, resume, sweep, maxMinutes, plain, quick, clock));
    }

    private static int Train(MnistTrainer<float> trainer, TrainSettings s, string outDir, bool resume, bool sweep, double maxMinutes, bool plain, bool quick, Stopwatch clock)
    {
        var parallel = trainer.Parallel;
        bool root = parallel is null || parallel.Group.IsRoot;
        TextWriter log = root ? Console.Out : TextWriter.Null;
        if (root) Directory.CreateDirectory(outDir);
        string checkpoint = Path.Combine(outDir, "checkpoint.bin");
        if (resume && root)
        {
            trainer.LoadCheckpoint(checkpoint);
            Console.WriteLine($"Resumed from {checkpoint} after epoch {trainer.Epoch}.");
        }
        if (parallel is not null)
        {
            trainer.Synchronize(); // θ, optimiser state, epoch and RNG from rank 0
            log.WriteLine($"Distributed: {parallel.Group.Size} ranks ({parallel.Group.Description}), each training on {s.Batch / parallel.Group.Size}–{(s.Batch + parallel.Group.Size - 1) / parallel.Group.Size} " +
                          $"of the {s.Batch} images per batch; gradients summed in rank order, {parallel.BytesSentPerStep} bytes per rank per step; rank 0 tests and writes.");
        }
        var c = trainer.Classifier;
        string solver = s.Model is ModelKind.OdeNet or ModelKind.RkNet
            ? $", dopri5 rtol {s.RelTol:G2} atol {s.AbsTol:G2} ({(s.Model == ModelKind.OdeNet ? "adjoint" : "backprop through the solver")})" : "";
        log.WriteLine($"MNIST {s.Model}: {c.ParameterCount:N0} parameters{solver}; SGD lr {s.LearningRate:G3} momentum {s.Momentum} " +
                          $"(×0.1 at epochs {string.Join(", ", s.Milestones)}), batch {s.Batch}, {s.Epochs} epochs of {trainer.TrainCount:N0} images " +
                          $"with random crops (padding {s.CropPadding}); {OdeDsl.Parallelism.MaxThreads} thread(s).");

        using var metrics = root ? new MetricsWriter(Path.Combine(outDir, "metrics.jsonl"), append: resume) : null;
        using var epochLog = root ? new MetricsWriter(Path.Combine(outDir, "epochs.jsonl"), append: resume) : null;
        var trainClock = Stopwatch.StartNew();
        var stopFlag = new int[1];
        bool outOfTime()
        {
            if (maxMinutes <= 0) return false;
            stopFlag[0] = trainClock.Elapsed.TotalMinutes >= maxMinutes ? 1 : 0;
            parallel?.Group.Broadcast<int>(stopFlag); // rank 0's clock decides, so every rank stops at the same batch
            return stopFlag[0] != 0;
        }
        long nfeF = 0, nfeB = 0, steps = 0;
        (double Loss, double Accuracy, double Nfe, double Seconds) test = (double.NaN, double.NaN, double.NaN, 0);
        bool stoppedEarly = false;
        int stepsPerEpoch = trainer.StepsPerEpoch;
        while (trainer.Epoch < s.Epochs && !stoppedEarly)
        {
            int epoch = trainer.Epoch + 1;
            double lossSum = 0; long correct = 0, seen = 0;
            void Epoch(IProgressReporter reporter)
            {
                trainer.TrainEpoch((step, r, seconds) =>
                {
                    long iteration = (long)(epoch - 1) * stepsPerEpoch + step + 1;
                    int n = Math.Min(s.Batch, trainer.TrainCount - step * s.Batch);
                    lossSum += r.Loss * n; correct += r.Correct; seen += n;
                    nfeF += r.NfeForward; nfeB += r.NfeBackward; steps++;
                    var m = new TrainingMetrics(iteration, r.Loss, r.NfeForward, r.NfeBackward, seconds, trainer.Optimizer.LearningRate);
                    metrics?.Write(m, ("epoch", epoch), ("accuracy", (double)r.Correct / n));
                    if (step % 10 == 9 || step == stepsPerEpoch - 1) reporter.Report(m with { Iteration = step + 1 });
                }, () => stoppedEarly = outOfTime());
            }
            if (root) TrainingProgress.Run($"epoch {epoch}/{s.Epochs}", stepsPerEpoch, Epoch, plain);
            else Epoch(new SilentReporter());
            if (stoppedEarly)
            {
                log.WriteLine($"--max-minutes {maxMinutes} reached in epoch {epoch} after {seen} images; testing the current weights (not checkpointed: the epoch is incomplete).");
                break;
            }
            parallel?.CheckInSync(c.Theta, (long)trainer.Epoch * stepsPerEpoch); // collective: every rank
            if (!root) continue;
            trainer.SaveCheckpoint(checkpoint);
            test = trainer.Test();
            epochLog!.Write(new TrainingMetrics(epoch, test.Loss, (long)Math.Round(test.Nfe), 0, trainClock.Elapsed.TotalSeconds, trainer.Optimizer.LearningRate),
                ("test_accuracy", test.Accuracy), ("test_error", 1 - test.Accuracy), ("train_loss", lossSum / Math.Max(1, seen)),
                ("train_accuracy", (double)correct / Math.Max(1, seen)), ("test_seconds", test.Seconds));
            Console.WriteLine($"epoch {epoch}: train loss {lossSum / Math.Max(1, seen):F4}, train acc {100.0 * correct / Math.Max(1, seen):F2} %, " +
                              $"test acc {100 * test.Accuracy:F2} % (error {100 * (1 - test.Accuracy):F2} %), test NFE/batch {test.Nfe:F1}, {trainClock.Elapsed.TotalMinutes:F1} min");
        }
        trainClock.Stop();
        if (!root) return 0;
        if (stoppedEarly || double.IsNaN(test.Accuracy)) test = trainer.Test();

        if (sweep && s.Model == ModelKind.OdeNet) Sweep(trainer, s, outDir);
        if (s.Model == ModelKind.OdeNet) MnistReport.WriteFigure3(outDir);

        var summary = new Dictionary<string, object>
        {
            ["model"] = s.Model.ToString(), ["parameters"] = c.ParameterCount, ["epochs_completed"] = trainer.Epoch, ["epochs_planned"] = s.Epochs,
            ["stopped_early"] = stoppedEarly, ["quick"] = quick, ["train_images"] = trainer.TrainCount, ["test_images"] = trainer.TestCount,
            ["test_accuracy"] = test.Accuracy, ["test_error"] = 1 - test.Accuracy, ["test_loss"] = test.Loss, ["test_nfe_per_batch"] = test.Nfe,
            ["rtol"] = s.RelTol, ["atol"] = s.AbsTol, ["training_seconds"] = trainClock.Elapsed.TotalSeconds, ["threads"] = OdeDsl.Parallelism.MaxThreads,
            ["mean_nfe_forward"] = steps == 0 ? 0 : (double)nfeF / steps, ["mean_nfe_backward"] = steps == 0 ? 0 : (double)nfeB / steps,
        };
        OdeDsl.Training.AtomicFile.WriteAllBytes(Path.Combine(outDir, "summary.json"), JsonSerializer.SerializeToUtf8Bytes(summary, new JsonSerializerOptions { WriteIndented = true }));

        var t = new Table().AddColumn("quantity").AddColumn(new TableColumn("value").RightAligned());
        void Row(string k, string v) => t.AddRow(Markup.Escape(k), Markup.Escape(v));
        Row("model / parameters", $"{s.Model} / {c.ParameterCount:N0}");
        Row("epochs completed", $"{trainer.Epoch} of {s.Epochs}{(stoppedEarly ? " (stopped by --max-minutes)" : "")}");
        Row("test accuracy / error", $"{100 * test.Accuracy:F2} % / {100 * (1 - test.Accuracy):F2} %");
        Row("test loss", $"{test.Loss:F4}");
        if (s.Model is ModelKind.OdeNet or ModelKind.RkNet)
        {
            Row("mean NFE per training batch, forward / backward", steps == 0 ? "-" : $"{(double)nfeF / steps:F1} / {(double)nfeB / steps:F1}");
            Row("test NFE per batch", $"{test.Nfe:F1}");
        }
        if (parallel is not null && parallel.Reductions > 0)
        {
            Row("ranks", $"{parallel.Group.Size} (Open MPI)");
            Row("gradient reduction per step (incl. waiting)", $"{1000 * parallel.ReduceTime.TotalSeconds / parallel.Reductions:F3} ms, {parallel.BytesSentPerStep} bytes sent per rank");
        }
        Row("training time", $"{trainClock.Elapsed.TotalMinutes:F1} min ({(steps == 0 ? 0 : trainClock.Elapsed.TotalSeconds / steps):F2} s/step)");
        Row("total time", $"{clock.Elapsed.TotalMinutes:F1} min");
        Row("output", Path.GetFullPath(outDir));
        AnsiConsole.Write(t);
        Console.WriteLine($"Test accuracy: {100 * test.Accuracy:F2} %");
        return double.IsFinite(test.Loss) ? 0 : 1;
    }

    private sealed class SilentReporter : IProgressReporter
    {
        public void Report(in TrainingMetrics metrics) { }
        public void Message(string text) { }
    }

    /// <summary>Figure 3(a)/(b): the trained weights evaluated on the test set at each tolerance; one JSON line per tolerance.</summary>
    private static void Sweep(MnistTrainer<float> trainer, TrainSettings s, string outDir)
    {
        var keep = trainer.Classifier.Options;
        using var w = new MetricsWriter(Path.Combine(outDir, "tolerance_sweep.jsonl"));
        foreach (double tol in SweepTolerances)
        {
            trainer.Classifier.Options = MnistTrainer<float>.Tolerances(tol, tol);
            var r = trainer.Test();
            w.Write(new TrainingMetrics(0, r.Loss, (long)Math.Round(r.Nfe), 0, r.Seconds, 0), ("tolerance", tol), ("test_error", 1 - r.Accuracy),
                ("nfe_forward_mean", r.Nfe), ("seconds_per_batch", r.Seconds / Math.Ceiling((double)trainer.TestCount / s.TestBatch)));
            Console.WriteLine($"rtol = atol = {tol:G1}: test error {100 * (1 - r.Accuracy):F2} %, NFE/batch {r.Nfe:F1}, {r.Seconds:F1} s");
        }
        trainer.Classifier.Options = keep;
    }
}
