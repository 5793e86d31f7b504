using System.Globalization;
using System.Text;

namespace LatentOde;

/// <summary>Table 2 from the runs' summary.json files, next to the paper's figures.</summary>
public static class Report
{
    private static readonly int[] Columns = [30, 50, 100];
    private static readonly string[] PaperLatent = ["0.1642", "0.1502", "0.1346"];
    private static readonly string[] PaperRnn = ["0.3937", "0.3202", "0.1813"];

    public static string WriteTable(string outDir)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Table 2: predictive RMSE on irregularly sampled spirals");
        sb.AppendLine();
        sb.AppendLine("Written by `examples/LatentOde` from the runs' summary.json. RMSE: the model reads a test trajectory's n noisy");
        sb.AppendLine("observations and predicts the 100 grid points after the observed window (extrapolation); the error is taken");
        sb.AppendLine("against the noise-free curve in data coordinates, √(mean over trajectories, points and both coordinates of (x̂ − x)²).");
        sb.AppendLine("Latent ODE: z₀ = posterior mean. Paper values: Chen et al. 2018, Table 2.");
        sb.AppendLine();
        sb.AppendLine("| model | n = 30 | n = 50 | n = 100 |");
        sb.AppendLine("|---|---|---|---|");
        sb.AppendLine($"| RNN (paper) | {string.Join(" | ", PaperRnn)} |");
        sb.AppendLine($"| latent ODE (paper) | {string.Join(" | ", PaperLatent)} |");
        foreach (var model in new[] { "rnn", "latent-ode" })
        {
            var cells = Columns.Select(n => Trainer.ReadSummary(Path.Combine(outDir, $"{model}-n{n}")) is { } s
                ? string.Create(CultureInfo.InvariantCulture, $"{s.ExtrapolationRmse:F4} ({s.Iterations}/{s.PlannedIterations} it{(s.Quick ? ", quick" : "")})")
                : "not run");
            sb.AppendLine($"| {(model == "rnn" ? "RNN" : "latent ODE")} (this run) | {string.Join(" | ", cells)} |");
        }
        Directory.CreateDirectory(outDir);
        string path = Path.Combine(outDir, "table2.md");
        File.WriteAllText(path, sb.ToString());
        return path;
    }
}
