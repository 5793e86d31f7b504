using System.Globalization;
using System.Text;

namespace LatentOde;

/// <summary>Table 2 from the runs' summary.json files, next to the paper's figures.</summary>
public static class Report
{
    private static readonly int[] Columns = [30, 50, 100];
    private static readonly string[] PaperLatent = ["0.1642", "0.1502", "0.1346"];
    private static readonly string[] PaperRnn = ["0.3937", "0.3202", "0.1813"];

    /// <summary>", cosine lr from 0.005": the schedule unless constant, the rate unless the code's 0.01.</summary>
    private static string RateText(RunSummary s)
    {
        string rate = s.LearningRate == Trainer.CodeLearningRate ? "" : string.Create(CultureInfo.InvariantCulture, $"{s.LearningRate:G}");
        string prefix = s.EncodePrefix < 1 ? string.Create(CultureInfo.InvariantCulture, $", encoder reads ≥ {s.EncodePrefix:G}·n") : "";
        if (s.Schedule == "constant") return (rate == "" ? "" : $", lr {rate}") + prefix;
        return (rate == "" ? $", {s.Schedule} lr" : $", {s.Schedule} lr from {rate}") + prefix;
    }

    private static readonly string[] KnownRows = ["rnn", "latent-ode", "latent-ode-deep", "latent-ode-prefix", "latent-ode-deep-prefix", "latent-ode-poisson"];

    /// <summary>The rows: the RNN and the paper-field latent ODE always, then every other run folder "&lt;row&gt;-n&lt;obs&gt;" found.</summary>
    private static IEnumerable<string> Rows(string outDir)
    {
        var found = Directory.Exists(outDir)
            ? Directory.GetDirectories(outDir).Select(Path.GetFileName)
                .Select(d => System.Text.RegularExpressions.Regex.Match(d!, @"^(.+)-n(30|50|100)$")).Where(m => m.Success).Select(m => m.Groups[1].Value)
                .Where(row => KnownRows.Contains(row) || row.StartsWith("latent-ode", StringComparison.Ordinal)).ToHashSet()
            : [];
        return KnownRows.Where(row => row is "rnn" or "latent-ode" || found.Contains(row)).Concat(found.Except(KnownRows).Order(StringComparer.Ordinal));
    }

    /// <summary>A row's name from its folder: "latent-ode[-deep][-prefix][-kl&lt;β&gt;][-consistency&lt;γ&gt;[-each]]", "latent-ode-poisson" or "rnn".</summary>
    private static string RowName(string row)
    {
        if (row == "rnn") return "RNN";
        if (row == "latent-ode-poisson") return "latent ODE + Poisson likelihood of the times (other data: times biased, κ = 1.5)";
        var parts = new List<string> { "latent ODE" };
        if (row.Contains("-deep")) parts.Add("the code's 4-20-20-4 field");
        if (row.Contains("-prefix")) parts.Add("trained to forecast (encoder reads a prefix)");
        var kl = System.Text.RegularExpressions.Regex.Match(row, @"-kl([0-9.]+)");
        if (kl.Success) parts.Add($"KL weight {kl.Groups[1].Value}");
        var consistency = System.Text.RegularExpressions.Regex.Match(row, @"-consistency([0-9.]+)");
        if (consistency.Success) parts.Add($"latent consistency {consistency.Groups[1].Value}" + (row.EndsWith("-each", StringComparison.Ordinal) ? " (a split point per trajectory)" : ""));
        return string.Join(", ", parts);
    }

    public static string WriteTable(string outDir)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Table 2: predictive RMSE on irregularly sampled spirals");
        sb.AppendLine();
        sb.AppendLine("Written by `examples/LatentOde` from the runs' summary.json. A model reads a test trajectory's n noisy observations,");
        sb.AppendLine("drawn from a window of 100 grid points, and predicts noise-free points; RMSE = √(mean over trajectories, points and both");
        sb.AppendLine("coordinates of (x̂ − x)²) in data coordinates against the noise-free curve. Window: the 100 window points (n of them observed;");
        sb.AppendLine("the RNN predicts each from the observations before it). Extrapolation: the 100 grid points after the window.");
        sb.AppendLine("Latent ODE: z₀ = the posterior mean. Paper: Chen et al. 2018, Table 2 (its columns are \"n/100\"; the paper code has no RMSE).");
        sb.AppendLine();
        foreach (var (title, pick) in new (string, Func<RunSummary, double>)[] { ("window (n of 100 observed)", r => r.ReconstructionRmse), ("extrapolation (100 points after the window)", r => r.ExtrapolationRmse) })
        {
            sb.AppendLine($"## {title}");
            sb.AppendLine();
            sb.AppendLine("| model | n = 30 | n = 50 | n = 100 |");
            sb.AppendLine("|---|---|---|---|");
            sb.AppendLine($"| RNN (paper) | {string.Join(" | ", PaperRnn)} |");
            sb.AppendLine($"| latent ODE (paper) | {string.Join(" | ", PaperLatent)} |");
            foreach (var model in Rows(outDir))
            {
                var cells = Columns.Select(n => Trainer.ReadSummary(Path.Combine(outDir, $"{model}-n{n}")) is { } s
                    ? string.Create(CultureInfo.InvariantCulture, $"{pick(s):F4} ({s.Iterations}/{s.PlannedIterations} it{RateText(s)}{(s.Quick ? ", quick" : "")})")
                    : "not run");
                sb.AppendLine($"| {RowName(model)} (this run) | {string.Join(" | ", cells)} |");
            }
            sb.AppendLine();
        }
        Directory.CreateDirectory(outDir);
        string path = Path.Combine(outDir, "table2.md");
        File.WriteAllText(path, sb.ToString());
        return path;
    }
}
