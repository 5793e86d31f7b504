using System.CommandLine;
using System.Diagnostics;

namespace OdeDsl.Bench.Commands;

/// <summary>
/// <c>augmented-timing [--batch B] [--batches N]</c>: stopwatch timing of ONE evaluation of the adjoint's augmented
/// system (f + VJP of the spiral field, float64, θ = the reference weights, h from the reference trajectory) at batch B,
/// as one call over the batch, in chunks on two threads (<see cref="AdjointBatch{TDynamics, T}"/>) and in the same chunks
/// on the calling thread alone (what chunking alone does to cache use and per-call overhead), the three timed
/// round-robin in N batches of 20 calls so that both see the same load; prints the minimum and median per call.
/// </summary>
public static class AugmentedTimingCommand
{
    public static Command Create()
    {
        var batch = new Option<int>("--batch") { Description = "Rows of the spiral batch.", DefaultValueFactory = _ => 1024 };
        var batches = new Option<int>("--batches") { Description = "Timed batches of 20 calls per variant.", DefaultValueFactory = _ => 200 };
        var command = new Command("augmented-timing", "One augmented (adjoint) evaluation: one call vs chunks on one and two threads.") { batch, batches };
        command.SetAction(pr =>
        {
            int b = pr.GetValue(batch), n = pr.GetValue(batches);
            if (b < 1 || n < 1) { Console.Error.WriteLine("--batch and --batches must be ≥ 1."); return 2; }
            Run(b, n);
            return 0;
        });
        return command;
    }

    private static void Run(int batch, int batches)
    {
        var problem = SpiralBenchProblem.Load(null);
        double[] theta = problem.Theta;
        int n = 2 * batch;
        var z = new double[AugmentedRhs<SpiralBenchField.Dynamics, double>.Length(batch)];
        problem.StartStates<double>(batch).CopyTo(z, 0);
        var rng = new Random(1);
        for (int i = n; i < 2 * n; i++) z[i] = rng.NextDouble() - 0.5;   // a
        var dz = new double[z.Length];
        double[] t = [0.3];
        var oneCall = new AugmentedRhs<SpiralBenchField.Dynamics, double>(theta, batch, allowChunks: false);
        var chunked = new AugmentedRhs<SpiralBenchField.Dynamics, double>(theta, batch);
        (string Name, Action Body)[] variants =
        [
            ("one call", () => oneCall.Evaluate(t, z, dz, 1)),
            ("chunked, two threads", () => chunked.Evaluate(t, z, dz, 1)),
            ("chunked, one thread", () => { TwoThreadLoop.Enabled = false; chunked.Evaluate(t, z, dz, 1); TwoThreadLoop.Enabled = true; }),
        ];
        Console.WriteLine($"batch {batch}, chunks {new AdjointBatch<SpiralBenchField.Dynamics, double>(theta, batch).Chunks}, problem: {problem.Source}");
        const int perBatch = 20;
        foreach (var (_, body) in variants)
            for (int i = 0; i < 500; i++) body(); // past tiered compilation's rejit
        var perCall = new double[variants.Length][];
        for (int v = 0; v < variants.Length; v++) perCall[v] = new double[batches];
        for (int b = 0; b < batches; b++)
            for (int v = 0; v < variants.Length; v++)
            {
                long t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < perBatch; i++) variants[v].Body();
                perCall[v][b] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds / perBatch;
            }
        for (int v = 0; v < variants.Length; v++)
        {
            Array.Sort(perCall[v]);
            Console.WriteLine($"{variants[v].Name,-22} min {perCall[v][0],9:F2} µs   median {perCall[v][batches / 2],9:F2} µs");
        }
    }
}
