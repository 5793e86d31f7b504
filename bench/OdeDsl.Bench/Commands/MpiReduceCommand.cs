using System.CommandLine;
using System.Diagnostics;
using OdeDsl.Training.Distributed;

namespace OdeDsl.Bench.Commands;

/// <summary>
/// `mpirun -np N dotnet OdeDsl.Bench.dll mpi-reduce [--sizes 252,210000] [--repeats 200]`: time of
/// DataParallel.ReduceGradients (status exchange + gradient sum) per call for float64 gradients of the given sizes,
/// with both reductions; rank 0 prints one JSON line per (size, reduction) with the median and the bytes moved.
/// </summary>
internal static class MpiReduceCommand
{
    public static Command Create()
    {
        var sizes = new Option<string>("--sizes") { Description = "Comma-separated gradient lengths (parameters).", DefaultValueFactory = _ => "252,210000" };
        var repeats = new Option<int>("--repeats") { Description = "Timed calls per case (after 20 warm-up calls).", DefaultValueFactory = _ => 200 };
        var command = new Command("mpi-reduce", "Time the data-parallel gradient reduction over MPI (start with mpirun).") { sizes, repeats };
        command.SetAction(pr =>
        {
            using var group = ProcessGroup.InitializeMpi();
            foreach (int n in pr.GetValue(sizes)!.Split(',').Select(int.Parse))
                foreach (var reduction in new[] { GradientReduction.RankOrder, GradientReduction.Allreduce })
                {
                    var dp = new DataParallel<double>(group, n, reduction);
                    var g = new double[n];
                    var times = new List<double>();
                    for (int i = 0; i < 20 + pr.GetValue(repeats); i++)
                    {
                        g.AsSpan().Fill(group.Rank + 1);
                        group.Barrier(); // time the reduction, not the ranks' arrival skew
                        long t0 = Stopwatch.GetTimestamp();
                        dp.ReduceGradients(g, 1.0, i, 1.0);
                        if (i >= 20) times.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
                    }
                    times.Sort();
                    long received = reduction == GradientReduction.RankOrder ? (long)n * 8 * group.Size : n * 8L;
                    if (group.IsRoot)
                        Console.WriteLine($"{{\"bench\":\"mpi-reduce\",\"ranks\":{group.Size},\"parameters\":{n},\"reduction\":\"{reduction}\",\"bytes_sent_per_rank\":{dp.BytesSentPerStep}," +
                                          $"\"gradient_bytes_gathered_per_rank\":{received},\"median_us\":{times[times.Count / 2]:F1},\"p10_us\":{times[times.Count / 10]:F1},\"p90_us\":{times[times.Count * 9 / 10]:F1}}}");
                }
            return 0;
        });
        return command;
    }
}
