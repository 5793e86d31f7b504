using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using OdeDsl;
using OdeDsl.Data;
using OdeDsl.Training;
using OdeDsl.Training.Distributed;

namespace LatentOde;

/// <summary>One run's settings (see Program.cs for the options and their defaults).</summary>
public sealed record RunSettings(string Model, string Field, int Observations, int Iterations, int TrainSpirals, int TestSpirals,
    double LearningRate, string Gradient, double RelTol, double AbsTol, ulong Seed, string OutDir, int EvalEvery, bool Resume, bool Quick)
{
    /// <summary>--poisson: the Poisson-process likelihood of the observation times, on data whose times depend on the
    /// trajectory (<see cref="SpiralSettings.TimeBias"/> = <see cref="PoissonTimeBias"/>).</summary>
    public bool Poisson { get; init; }

    /// <summary>κ of the --poisson data: observed with weight exp(κ·sin φ), e^{2κ} = 20 times likelier at the top of the spiral than at the bottom.</summary>
    public const double PoissonTimeBias = 1.5;

    /// <summary>--schedule: "constant" (the code's Adam at a fixed rate) or "cosine" (annealed to 0 over the iterations).</summary>
    public string Schedule { get; init; } = "constant";

    /// <summary>
    /// --encode-prefix F: each iteration the encoder reads only the first K observations of every trajectory, K drawn
    /// uniformly from ⌈F·n⌉ … n, while the likelihood covers all n (<see cref="LatentOdeModel{TDyn, T}.LossAndGradient"/>);
    /// 1 (the default) is the paper's objective. Test-time encoding always reads all n.
    /// </summary>
    public double EncodePrefix { get; init; } = 1;

    /// <summary>--kl-weight β: loss = −log p(x | z) + β·KL (<see cref="LatentOdeModel{TDyn, T}.KlWeight"/>); 1 is the ELBO.</summary>
    public double KlWeight { get; init; } = 1;

    /// <summary>--consistency γ: the latent-consistency term's weight (<see cref="LatentOdeModel{TDyn, T}.ConsistencyWeight"/>); 0 is none.</summary>
    public double Consistency { get; init; }

    /// <summary>--consistency-splits: "shared" (one split index m a step for every trajectory) or "each" (every trajectory
    /// its own m each step, the suffixes encoded as one left-padded batch).</summary>
    public string ConsistencySplits { get; init; } = "shared";

    /// <summary>The consistency term's split index m is drawn each iteration from 1 … n − ⌈n/4⌉: the suffix the encoder
    /// reads on its own keeps at least a quarter of the observations.</summary>
    public int MaxSplit => Observations - (Observations + 3) / 4;

    /// <summary>The smallest K the encoder may read in training (n with the paper's objective).</summary>
    public int MinEncoded => Math.Clamp((int)Math.Ceiling(EncodePrefix * Observations - 1e-9), 1, Observations);

    /// <summary>The MPI ranks with --distributed (each trains on its shard of the trajectories); null in one process.</summary>
    public ProcessGroup? Group { get; init; }
    /// <summary>Whether this process evaluates and writes output (always, without --distributed).</summary>
    public bool IsRoot => Group is null || Group.IsRoot;

    public string RunDir => Path.Combine(OutDir, Model != "latent-ode" ? $"{Model}-n{Observations}"
        : Poisson ? $"latent-ode-poisson-n{Observations}" : $"{LatentRunName()}-n{Observations}");

    /// <summary>"latent-ode[-deep][-prefix][-kl β][-consistency γ[-each]]": the field and the objective's options that differ from the paper's.</summary>
    private string LatentRunName()
    {
        var name = new System.Text.StringBuilder("latent-ode");
        if (Field == "deep") name.Append("-deep");
        if (EncodePrefix < 1) name.Append("-prefix");
        if (KlWeight != 1) name.Append(CultureInfo.InvariantCulture, $"-kl{KlWeight:G}");
        if (Consistency > 0) name.Append(CultureInfo.InvariantCulture, $"-consistency{Consistency:G}");
        if (Consistency > 0 && ConsistencySplits == "each") name.Append("-each");
        return name.ToString();
    }

    /// <summary>Data: the code's settings with this run's n; train and test sets from different seeds.</summary>
    public (IrregularSpirals Train, IrregularSpirals Test) Data()
    {
        var settings = new SpiralSettings { Observations = Observations, Spirals = TrainSpirals, TimeBias = Poisson ? PoissonTimeBias : 0 };
        // Training windows start anywhere in the code's range (Horizon = 0: t0 ∈ [nsample, ntotal − nsample)); test windows
        // start early enough that their 100-point horizon stays on the curve, and so inside the range training covers.
        return (IrregularSpirals.Generate(settings with { Horizon = 0 }, Seed), IrregularSpirals.Generate(settings with { Spirals = TestSpirals }, Seed + 1_000_003));
    }
}

/// <summary>What a finished (or interrupted) run leaves in summary.json.</summary>
public sealed record RunSummary(string Model, string Field, int Observations, long Iterations, int PlannedIterations, double ExtrapolationRmse,
    double ReconstructionRmse, double FinalLoss, double Seconds, string Gradient, bool Quick, string Schedule = "constant",
    double LearningRate = Trainer.CodeLearningRate, double EncodePrefix = 1, double KlWeight = 1, double Consistency = 0,
    string ConsistencySplits = "shared");

/// <summary>Distributed training stopped on every rank; the program exits with <see cref="ExitCode"/>.</summary>
public sealed class TrainingStoppedException(int exitCode) : Exception($"Distributed training stopped (exit code {exitCode}).")
{
    public int ExitCode { get; } = exitCode;
}

public static class Trainer
{
    /// <summary>Adam's rate in the paper code (latent_ode.py), the default of --lr; summaries written before the rate was recorded used it.</summary>
    public const double CodeLearningRate = 0.01;

    /// <summary>Trains and evaluates; with --distributed returns null on the ranks other than 0 and throws
    /// <see cref="TrainingStoppedException"/> on every rank when training stopped on a fault (RunGuarded printed why).</summary>
    public static RunSummary? Run(RunSettings s)
    {
        var (train, test) = s.Data();
        // Full-batch training: with --distributed each rank holds only its contiguous shard of the trajectories.
        var (first, count) = s.Group?.Shard(train.Count) ?? (0, train.Count);
        var trainBatch = SequenceBatch<float>.From(train, Enumerable.Range(first, count).ToArray());
        var testBatch = SequenceBatch<float>.From(test, Enumerable.Range(0, test.Count).ToArray());
        return s.Model == "rnn"
            ? Loop(s, RnnBaseline<float>.Initialize((int)s.Seed), new RnnAdapter(new RnnBaseline<float>(train.Settings.NoiseStd)), test, trainBatch, testBatch, first, train.Count)
            : s.Poisson
                ? Loop(s, LatentOdeModel<PoissonLatentField.Dynamics, float>.Initialize((int)s.Seed), new LatentAdapter<PoissonLatentField.Dynamics>(Model<PoissonLatentField.Dynamics>(s, train), s), test, trainBatch, testBatch, first, train.Count)
            : s.Field == "deep"
                ? Loop(s, LatentOdeModel<DeepLatentField.Dynamics, float>.Initialize((int)s.Seed), new LatentAdapter<DeepLatentField.Dynamics>(Model<DeepLatentField.Dynamics>(s, train), s), test, trainBatch, testBatch, first, train.Count)
                : Loop(s, LatentOdeModel<LatentField.Dynamics, float>.Initialize((int)s.Seed), new LatentAdapter<LatentField.Dynamics>(Model<LatentField.Dynamics>(s, train), s), test, trainBatch, testBatch, first, train.Count);
    }

    public static LatentOdeModel<TDyn, float> Model<TDyn>(RunSettings s, IrregularSpirals train) where TDyn : IOdeDynamics<TDyn>
        => new(s.Gradient == "adjoint" ? Sensitivity.Adjoint() : Sensitivity.Backprop,
               new SolveOptions<float> { RelTol = (float)s.RelTol, AbsTol = (float)s.AbsTol }, train.Settings.NoiseStd,
               LatentOdeModel<TDyn, float>.Poisson ? train.GridTimes[train.Settings.Window - 1] : null) { KlWeight = s.KlWeight, ConsistencyWeight = s.Consistency };

    /// <summary>The two models behind one training loop.</summary>
    public interface IAdapter
    {
        /// <summary>The loss (mean over <paramref name="batch"/>) and its gradient. With --distributed the batch is rows
        /// [<paramref name="first"/>, first + batch.Batch) of a global batch of <paramref name="globalBatch"/>; random
        /// draws are made for the global batch, so each row gets the same draw whatever the split.</summary>
        StepReport Step(float[] theta, SequenceBatch<float> batch, ref Rng rng, float[] gradient, int first, int globalBatch);
        Evaluation.Scores Score(float[] theta, IrregularSpirals data, SequenceBatch<float> batch);
    }

    /// <param name="s">The run: the smallest number of first observations the encoder reads (<see cref="RunSettings.MinEncoded"/>)
    /// and the consistency term's largest split index and how it is drawn (<see cref="RunSettings.MaxSplit"/>, ConsistencySplits).</param>
    private sealed class LatentAdapter<TDyn>(LatentOdeModel<TDyn, float> model, RunSettings s) : IAdapter where TDyn : IOdeDynamics<TDyn>
    {
        private readonly int minEncoded = s.MinEncoded, maxSplit = s.MaxSplit;
        private readonly bool splitEach = s.ConsistencySplits == "each";

        public StepReport Step(float[] theta, SequenceBatch<float> batch, ref Rng rng, float[] gradient, int first, int globalBatch)
        {
            // K and m are drawn first (from the shared stream, for the global batch, so every rank draws the same), and only
            // when they are used: the paper's objective keeps the draws of the runs made before the options.
            int? encoded = minEncoded < batch.Count ? minEncoded + rng.NextInt(batch.Count - minEncoded + 1) : null;
            int[]? splits = null;
            if (model.ConsistencyWeight > 0)
            {
                var all = new int[splitEach ? globalBatch : 1];
                for (int i = 0; i < all.Length; i++) all[i] = 1 + rng.NextInt(maxSplit);
                splits = splitEach ? all.AsSpan(first, batch.Batch).ToArray() : Enumerable.Repeat(all[0], batch.Batch).ToArray();
            }
            if (globalBatch == batch.Batch) return model.LossAndGradient(theta, batch, ref rng, gradient, encodeCount: encoded, splits: splits); // one process: as before
            var eps = new float[globalBatch * Sizes.Latent]; // the same order of draws as LossAndGradient on the whole batch
            for (int i = 0; i < eps.Length; i++) eps[i] = (float)rng.NextGaussian();
            return model.LossAndGradient(theta, batch, ref rng, gradient, eps.AsSpan(first * Sizes.Latent, batch.Batch * Sizes.Latent).ToArray(), encoded, splits);
        }
        public Evaluation.Scores Score(float[] theta, IrregularSpirals data, SequenceBatch<float> batch) => Evaluation.LatentOde(model, theta, data, batch);
    }

    private sealed class RnnAdapter(RnnBaseline<float> model) : IAdapter
    {
        public StepReport Step(float[] theta, SequenceBatch<float> batch, ref Rng rng, float[] gradient, int first, int globalBatch) => model.LossAndGradient(theta, batch, gradient);
        public Evaluation.Scores Score(float[] theta, IrregularSpirals data, SequenceBatch<float> batch) => Evaluation.Rnn(model, theta, data, batch);
    }

    private static RunSummary? Loop(RunSettings s, float[] theta, IAdapter model, IrregularSpirals test, SequenceBatch<float> trainBatch, SequenceBatch<float> testBatch,
        int first, int globalBatch)
    {
        if (s.Group is null) return Train(s, theta, model, test, trainBatch, testBatch, first, globalBatch, null);
        var parallel = new DataParallel<float>(s.Group, theta.Length);
        RunSummary? summary = null;
        // A fault (non-finite loss on any rank, an exception on one, a rank killed) stops every rank naming rank and step.
        int code = parallel.RunGuarded(() => { summary = Train(s, theta, model, test, trainBatch, testBatch, first, globalBatch, parallel); return 0; });
        return code == 0 ? summary : throw new TrainingStoppedException(code);
    }

    private static RunSummary? Train(RunSettings s, float[] theta, IAdapter model, IrregularSpirals test, SequenceBatch<float> trainBatch, SequenceBatch<float> testBatch,
        int first, int globalBatch, DataParallel<float>? parallel)
    {
        bool root = s.IsRoot;
        if (root) Directory.CreateDirectory(s.RunDir);
        string checkpoint = Path.Combine(s.RunDir, "checkpoint.bin");
        var adam = new Adam<float>(theta.Length, s.LearningRate);
        var schedule = s.Schedule == "cosine" ? LearningRateSchedule.Cosine(s.LearningRate, s.Iterations) : LearningRateSchedule.Constant(s.LearningRate);
        var rng = new Rng(s.Seed + 17);
        long start = 0;
        if (s.Resume && root && File.Exists(checkpoint))
        {
            var state = Checkpoint.Load<float>(checkpoint, theta, adam);
            start = state.Iteration; rng = state.Rng;
            Console.WriteLine($"resumed from {checkpoint} at iteration {start}");
        }
        parallel?.SynchronizeState(theta, adam, ref start, ref rng); // rank 0's θ, Adam state, iteration and RNG
        if (parallel is not null && root)
            Console.WriteLine($"distributed: {parallel.Group.Size} ranks ({parallel.Group.Description}), each training on {globalBatch / parallel.Group.Size}–{(globalBatch + parallel.Group.Size - 1) / parallel.Group.Size} " +
                              $"of the {globalBatch} trajectories; gradients summed in rank order, {parallel.BytesSentPerStep} bytes per rank per step.");
        using var metrics = root ? new MetricsWriter(Path.Combine(s.RunDir, "metrics.jsonl"), append: s.Resume && start > 0) : null;
        var gradient = new float[theta.Length];
        var clock = Stopwatch.StartNew();
        double loss = double.NaN;
        Evaluation.Scores scores = new(double.NaN, double.NaN);
        var terms = new double[2];
        var allTerms = new double[2 * (parallel?.Group.Size ?? 1)];
        long it = start;
        for (it = start + 1; it <= s.Iterations; it++)
        {
            var report = model.Step(theta, trainBatch, ref rng, gradient, first, globalBatch);
            loss = report.Loss;
            if (parallel is not null)
            {
                // The shard's mean → its sum; the ranks' sums are added in rank order and divided by the global batch.
                int count = trainBatch.Batch;
                for (int i = 0; i < gradient.Length; i++) gradient[i] *= count;
                loss = parallel.ReduceGradients(gradient, report.Loss * count, it - 1, 1.0 / globalBatch) / globalBatch;
                terms[0] = report.LogLikelihood * count; terms[1] = report.Kl * count;
                parallel.Group.AllGather<double>(terms, allTerms);
                double ll = 0, kl = 0;
                for (int r = 0; r < parallel.Group.Size; r++) { ll += allTerms[2 * r]; kl += allTerms[2 * r + 1]; }
                report = report with { Loss = loss, LogLikelihood = ll / globalBatch, Kl = kl / globalBatch }; // NFE stay rank 0's shard's
            }
            if (!double.IsFinite(loss)) throw new InvalidOperationException($"The loss became {loss} at iteration {it}; lower --lr or tighten --rtol.");
            schedule.Apply(adam, it - 1);
            adam.Step(theta, gradient);
            bool evaluate = it % s.EvalEvery == 0 || it == s.Iterations;
            bool save = it % 100 == 0 || it == s.Iterations;
            if (save) parallel?.CheckInSync(theta, it); // collective: every rank
            if (!root) continue;
            if (evaluate) scores = model.Score(theta, test, testBatch);
            if (evaluate || it % 10 == 0 || it == start + 1)
            {
                metrics!.Write(new TrainingMetrics(it, loss, report.NfeForward, report.NfeBackward, clock.Elapsed.TotalSeconds, adam.LearningRate),
                    ("log_likelihood", report.LogLikelihood), ("kl", report.Kl), ("times_log_likelihood", report.TimesLogLikelihood), ("consistency", report.Consistency),
                    ("test_rmse_extrapolation", evaluate ? scores.ExtrapolationRmse : double.NaN),
                    ("test_rmse_reconstruction", evaluate ? scores.ReconstructionRmse : double.NaN));
                Console.WriteLine($"{Path.GetFileName(s.RunDir)} it {it,5}  loss {loss,10:F3}  nfe {report.NfeForward,4}/{report.NfeBackward,4}  {clock.Elapsed.TotalSeconds,7:F1} s" +
                                  (evaluate ? $"  test RMSE extrapolation {scores.ExtrapolationRmse:F4} reconstruction {scores.ReconstructionRmse:F4}" : ""));
            }
            if (save) Checkpoint.Save<float>(checkpoint, theta, adam, it, rng);
        }
        if (!root) return null;
        it = Math.Min(it, s.Iterations);
        if (double.IsNaN(scores.ExtrapolationRmse)) scores = model.Score(theta, test, testBatch);
        Console.WriteLine($"extrapolation RMSE {scores.ExtrapolationRmse:F4}: {scores.Split}");
        var summary = new RunSummary(s.Model, s.Field, s.Observations, it, s.Iterations, scores.ExtrapolationRmse, scores.ReconstructionRmse, loss,
            clock.Elapsed.TotalSeconds, s.Gradient, s.Quick, s.Schedule, s.LearningRate, s.EncodePrefix, s.KlWeight, s.Consistency, s.ConsistencySplits);
        File.WriteAllText(Path.Combine(s.RunDir, "summary.json"), JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
        return summary;
    }

    public static RunSummary? ReadSummary(string runDir)
    {
        string path = Path.Combine(runDir, "summary.json");
        return File.Exists(path) ? JsonSerializer.Deserialize<RunSummary>(File.ReadAllText(path), new JsonSerializerOptions { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }) : null;
    }
}
