using LatentOde;

namespace OdeDsl.Tests.LatentOdeExample;

/// <summary>
/// Table 2's cells name each run's budget, schedule and rate, read from the runs' summary.json; a summary written before
/// the rate was recorded reads as the code's 0.01 (the only rate those runs used).
/// </summary>
public class ReportTests
{
    [Fact]
    public void CellsNameTheBudgetTheScheduleAndARateOtherThanTheCodes()
    {
        string dir = Path.Combine(Path.GetTempPath(), "odedsl-report-" + Guid.NewGuid().ToString("N"));
        try
        {
            void Write(string run, string json)
            {
                Directory.CreateDirectory(Path.Combine(dir, run));
                File.WriteAllText(Path.Combine(dir, run, "summary.json"), json);
            }
            Write("rnn-n30", """{"Model":"rnn","Field":"paper","Observations":30,"Iterations":2000,"PlannedIterations":2000,"ExtrapolationRmse":0.5,"ReconstructionRmse":0.25,"FinalLoss":1,"Seconds":1,"Gradient":"backprop","Quick":false}""");
            Write("latent-ode-deep-n50", """{"Model":"latent-ode","Field":"deep","Observations":50,"Iterations":12000,"PlannedIterations":12000,"ExtrapolationRmse":0.139,"ReconstructionRmse":0.09,"FinalLoss":1,"Seconds":1,"Gradient":"backprop","Quick":false,"Schedule":"cosine"}""");
            var run = new RunSummary("latent-ode", "deep", 100, 6000, 12000, 0.148, 0.066, 1, 1, "backprop", false, "cosine", 0.005);
            Write("latent-ode-deep-n100", System.Text.Json.JsonSerializer.Serialize(run));

            var prefix = new RunSettings("latent-ode", "deep", 100, 12000, 1000, 1000, 0.005, "backprop", 1e-5, 1e-6, 1, dir, 500, false, false) { EncodePrefix = 0.5 };
            Assert.Equal(50, prefix.MinEncoded);
            Assert.Equal(100, (prefix with { EncodePrefix = 1 }).MinEncoded);
            Assert.Equal(15, (prefix with { Observations = 30 }).MinEncoded);
            Write(Path.GetFileName(prefix.RunDir), System.Text.Json.JsonSerializer.Serialize(run with { EncodePrefix = 0.5, ExtrapolationRmse = 0.12 }));

            Assert.Equal("latent-ode-deep-consistency0.5-n100", Path.GetFileName((prefix with { EncodePrefix = 1, Consistency = 0.5 }).RunDir));
            Assert.Equal("latent-ode-deep-consistency10-each-n100", Path.GetFileName((prefix with { EncodePrefix = 1, Consistency = 10, ConsistencySplits = "each" }).RunDir));
            Assert.Equal(75, prefix.MaxSplit);
            Assert.Equal(22, (prefix with { Observations = 30 }).MaxSplit);
            var beta = prefix with { EncodePrefix = 1, KlWeight = 2 };
            Assert.Equal("latent-ode-deep-kl2-n100", Path.GetFileName(beta.RunDir));
            Write(Path.GetFileName(beta.RunDir), System.Text.Json.JsonSerializer.Serialize(run with { KlWeight = 2, ExtrapolationRmse = 0.11 }));

            string table = File.ReadAllText(Report.WriteTable(dir));

            Assert.Contains("| RNN (this run) | 0.5000 (2000/2000 it) | not run | not run |", table);
            Assert.Contains("| latent ODE, the code's 4-20-20-4 field (this run) | not run | 0.1390 (12000/12000 it, cosine lr) | 0.1480 (6000/12000 it, cosine lr from 0.005) |", table);
            Assert.Contains("| latent ODE, the code's 4-20-20-4 field, trained to forecast (encoder reads a prefix) (this run) | not run | not run | 0.1200 (6000/12000 it, cosine lr from 0.005, encoder reads ≥ 0.5·n) |", table);
            Assert.Contains("| latent ODE, the code's 4-20-20-4 field, KL weight 2 (this run) | not run | not run | 0.1100 (6000/12000 it, cosine lr from 0.005) |", table);
            Assert.Equal(0.005, Trainer.ReadSummary(Path.Combine(dir, "latent-ode-deep-n100"))!.LearningRate);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
