using System.Globalization;
using OdeDsl;
using OdeDsl.Training;

namespace LatentOde;

/// <summary>
/// `LatentOde breakdown`: where a trained latent ODE's extrapolation error sits — the test trajectories grouped by
/// direction and by the window's start index (100-point bins), each group's RMSE and share of the squared error, and
/// how much the worst 5 % of trajectories carry. Reads the run's checkpoint.bin; the data come from the seed, as in training.
/// </summary>
public static class Breakdown
{
    public static int Run(string runDir, string field, int observations, ulong seed)
    {
        string checkpoint = Path.Combine(runDir, "checkpoint.bin");
        if (!File.Exists(checkpoint)) { Console.Error.WriteLine($"No checkpoint at {checkpoint}."); return 2; }
        var s = new RunSettings("latent-ode", field, observations, 1, 1000, 1000, Trainer.CodeLearningRate, "backprop", 1e-5, 1e-6, seed, runDir, 1, false, false);
        return field == "deep" ? Print<DeepLatentField.Dynamics>(s, checkpoint) : Print<LatentField.Dynamics>(s, checkpoint);
    }

    private static int Print<TDyn>(RunSettings s, string checkpoint) where TDyn : IOdeDynamics<TDyn>
    {
        var (train, test) = s.Data();
        var theta = new float[LatentOdeModel<TDyn, float>.ParameterCount];
        Checkpoint.Load<float>(checkpoint, theta, new Adam<float>(theta.Length, 0.01));
        var model = Trainer.Model<TDyn>(s, train);
        var batch = SequenceBatch<float>.From(test, Enumerable.Range(0, test.Count).ToArray());
        var x = model.Decode(theta, model.PosteriorMean(theta, batch), Evaluation.GridTimes(test, batch.Batch));
        int w = test.Settings.Window, hz = test.Settings.Horizon, g = w + hz;
        var error = new double[batch.Batch];
        for (int b = 0; b < batch.Batch; b++)
            for (int i = w; i < g; i++)
                for (int c = 0; c < 2; c++) { double d = x[(b * g + i) * 2 + c] - test.TruthHorizon[(b * hz + i - w) * 2 + c]; error[b] += d * d; }
        double total = error.Sum();
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"extrapolation RMSE {Math.Sqrt(total / (batch.Batch * hz * 2)):F4} over {batch.Batch} test trajectories"));
        Console.WriteLine("| direction | window start | trajectories | RMSE | share of squared error |");
        Console.WriteLine("|---|---|---|---|---|");
        int first = test.StartIndex.Min() / 100 * 100, last = test.StartIndex.Max();
        foreach (bool clockwise in new[] { true, false })
            for (int lo = first; lo <= last; lo += 100)
            {
                var group = Enumerable.Range(0, batch.Batch).Where(b => test.Clockwise[b] == clockwise && test.StartIndex[b] >= lo && test.StartIndex[b] < lo + 100).ToList();
                if (group.Count == 0) continue;
                double sum = group.Sum(b => error[b]);
                Console.WriteLine(string.Create(inv, $"| {(clockwise ? "clockwise" : "counter-clockwise")} | [{lo}, {lo + 100}) | {group.Count} | {Math.Sqrt(sum / (group.Count * hz * 2)):F4} | {100 * sum / total:F1} % |"));
            }
        var sorted = error.OrderDescending().ToArray();
        int worst = batch.Batch / 20;
        Console.WriteLine(string.Create(inv, $"the worst {worst} trajectories (5 %) carry {100 * sorted.Take(worst).Sum() / total:F1} % of the squared error; RMSE without them {Math.Sqrt(sorted.Skip(worst).Sum() / ((batch.Batch - worst) * hz * 2)):F4}"));
        return 0;
    }
}
