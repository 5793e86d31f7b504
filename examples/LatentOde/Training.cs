using System.Diagnostics;
using System.Text.Json;
using OdeDsl;
using OdeDsl.Data;
using OdeDsl.Training;

namespace LatentOde;

/// <summary>One run's settings (see Program.cs for the options and their defaults).</summary>
public sealed record RunSettings(string Model, string Field, int Observations, int Iterations, int TrainSpirals, int TestSpirals,
    double LearningRate, string Gradient, double RelTol, double AbsTol, ulong Seed, string OutDir, int EvalEvery, bool Resume, bool Quick)
{
    public string RunDir => Path.Combine(OutDir, Model == "latent-ode" && Field == "deep" ? $"latent-ode-deep-n{Observations}" : $"{Model}-n{Observations}");

    /// <summary>Data: the code's settings with this run's n; train and test sets from different seeds.</summary>
    public (IrregularSpirals Train, IrregularSpirals Test) Data()
    {
        var settings = new SpiralSettings { Observations = Observations, Spirals = TrainSpirals };
        return (IrregularSpirals.Generate(settings, Seed), IrregularSpirals.Generate(settings with { Spirals = TestSpirals }, Seed + 1_000_003));
    }
}

/// <summary>What a finished (or interrupted) run leaves in summary.json.</summary>
public sealed record RunSummary(string Model, string Field, int Observations, long Iterations, int PlannedIterations, double ExtrapolationRmse,
    double ReconstructionRmse, double FinalLoss, double Seconds, string Gradient, bool Quick);

public static class Trainer
{
    public static RunSummary Run(RunSettings s)
    {
        var (train, test) = s.Data();
        var trainBatch = SequenceBatch<float>.From(train, Enumerable.Range(0, train.Count).ToArray());
        var testBatch = SequenceBatch<float>.From(test, Enumerable.Range(0, test.Count).ToArray());
        return s.Model == "rnn"
            ? Loop(s, RnnBaseline<float>.Initialize((int)s.Seed), new RnnAdapter(new RnnBaseline<float>(train.Settings.NoiseStd)), test, trainBatch, testBatch)
            : s.Field == "deep"
                ? Loop(s, LatentOdeModel<DeepLatentField.Dynamics, float>.Initialize((int)s.Seed), new LatentAdapter<DeepLatentField.Dynamics>(Model<DeepLatentField.Dynamics>(s, train)), test, trainBatch, testBatch)
                : Loop(s, LatentOdeModel<LatentField.Dynamics, float>.Initialize((int)s.Seed), new LatentAdapter<LatentField.Dynamics>(Model<LatentField.Dynamics>(s, train)), test, trainBatch, testBatch);
    }

    public static LatentOdeModel<TDyn, float> Model<TDyn>(RunSettings s, IrregularSpirals train) where TDyn : IOdeDynamics<TDyn>
        => new(s.Gradient == "adjoint" ? Sensitivity.Adjoint() : Sensitivity.Backprop,
               new SolveOptions<float> { RelTol = (float)s.RelTol, AbsTol = (float)s.AbsTol }, train.Settings.NoiseStd);

    /// <summary>The two models behind one training loop.</summary>
    public interface IAdapter
    {
        StepReport Step(float[] theta, SequenceBatch<float> batch, ref Rng rng, float[] gradient);
        Evaluation.Scores Score(float[] theta, IrregularSpirals data, SequenceBatch<float> batch);
    }

    private sealed class LatentAdapter<TDyn>(LatentOdeModel<TDyn, float> model) : IAdapter where TDyn : IOdeDynamics<TDyn>
    {
        public StepReport Step(float[] theta, SequenceBatch<float> batch, ref Rng rng, float[] gradient) => model.LossAndGradient(theta, batch, ref rng, gradient);
        public Evaluation.Scores Score(float[] theta, IrregularSpirals data, SequenceBatch<float> batch) => Evaluation.LatentOde(model, theta, data, batch);
    }

    private sealed class RnnAdapter(RnnBaseline<float> model) : IAdapter
    {
        public StepReport Step(float[] theta, SequenceBatch<float> batch, ref Rng rng, float[] gradient) => model.LossAndGradient(theta, batch, gradient);
        public Evaluation.Scores Score(float[] theta, IrregularSpirals data, SequenceBatch<float> batch) => Evaluation.Rnn(model, theta, data, batch);
    }

    private static RunSummary Loop(RunSettings s, float[] theta, IAdapter model, IrregularSpirals test, SequenceBatch<float> trainBatch, SequenceBatch<float> testBatch)
    {
        Directory.CreateDirectory(s.RunDir);
        string checkpoint = Path.Combine(s.RunDir, "checkpoint.bin");
        var adam = new Adam<float>(theta.Length, s.LearningRate);
        var rng = new Rng(s.Seed + 17);
        long start = 0;
        if (s.Resume && File.Exists(checkpoint))
        {
            var state = Checkpoint.Load<float>(checkpoint, theta, adam);
            start = state.Iteration; rng = state.Rng;
            Console.WriteLine($"resumed from {checkpoint} at iteration {start}");
        }
        using var metrics = new MetricsWriter(Path.Combine(s.RunDir, "metrics.jsonl"), append: s.Resume && start > 0);
        var gradient = new float[theta.Length];
        var clock = Stopwatch.StartNew();
        double loss = double.NaN;
        Evaluation.Scores scores = new(double.NaN, double.NaN);
        long it = start;
        for (it = start + 1; it <= s.Iterations; it++)
        {
            var report = model.Step(theta, trainBatch, ref rng, gradient);
            loss = report.Loss;
            if (!double.IsFinite(loss)) throw new InvalidOperationException($"The loss became {loss} at iteration {it}; lower --lr or tighten --rtol.");
            adam.Step(theta, gradient);
            bool evaluate = it % s.EvalEvery == 0 || it == s.Iterations;
            if (evaluate) scores = model.Score(theta, test, testBatch);
            if (evaluate || it % 10 == 0 || it == start + 1)
            {
                metrics.Write(new TrainingMetrics(it, loss, report.NfeForward, report.NfeBackward, clock.Elapsed.TotalSeconds, adam.LearningRate),
                    ("log_likelihood", report.LogLikelihood), ("kl", report.Kl),
                    ("test_rmse_extrapolation", evaluate ? scores.ExtrapolationRmse : double.NaN),
                    ("test_rmse_reconstruction", evaluate ? scores.ReconstructionRmse : double.NaN));
                Console.WriteLine($"{s.Model}-n{s.Observations} it {it,5}  loss {loss,10:F3}  nfe {report.NfeForward,4}/{report.NfeBackward,4}  {clock.Elapsed.TotalSeconds,7:F1} s" +
                                  (evaluate ? $"  test RMSE extrapolation {scores.ExtrapolationRmse:F4} reconstruction {scores.ReconstructionRmse:F4}" : ""));
            }
            if (it % 100 == 0 || it == s.Iterations) Checkpoint.Save<float>(checkpoint, theta, adam, it, rng);
        }
        it = Math.Min(it, s.Iterations);
        if (double.IsNaN(scores.ExtrapolationRmse)) scores = model.Score(theta, test, testBatch);
        var summary = new RunSummary(s.Model, s.Field, s.Observations, it, s.Iterations, scores.ExtrapolationRmse, scores.ReconstructionRmse, loss,
            clock.Elapsed.TotalSeconds, s.Gradient, s.Quick);
        File.WriteAllText(Path.Combine(s.RunDir, "summary.json"), JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
        return summary;
    }

    public static RunSummary? ReadSummary(string runDir)
    {
        string path = Path.Combine(runDir, "summary.json");
        return File.Exists(path) ? JsonSerializer.Deserialize<RunSummary>(File.ReadAllText(path), new JsonSerializerOptions { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }) : null;
    }
}
