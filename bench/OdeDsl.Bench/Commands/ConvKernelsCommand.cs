using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using OdeDsl.Tensors;

namespace OdeDsl.Bench.Commands;

/// <summary>
/// <c>conv-kernels [--repeats 15] [--rounds 1] [--only PREFIX] [--im2col]</c>: the MNIST ODE-Net's Conv2d kernels alone (float32), as the training
/// step calls them: the ODE block's 65→64 3×3 pad 1 on 6×6 at the solver's 32-row chunk (one thread), and the
/// downsampling's three convolutions at batch 128 (one call each, two threads where Conv2d splits). Each line gives the
/// median CPU seconds per call (all threads) and GFLOP/s per CPU second, so that old and new builds can be compared in
/// alternating runs on a shared machine without the whole step's noise.
/// </summary>
public static class ConvKernelsCommand
{
    public static Command Create()
    {
        var repeats = new Option<int>("--repeats") { Description = "Timed repeats (≥ 3) per kernel; the median is reported.", DefaultValueFactory = _ => 15 };
        var rounds = new Option<int>("--rounds") { Description = "Passes over all kernels (each prints its own lines).", DefaultValueFactory = _ => 1 };
        var only = new Option<string?>("--only") { Description = "Only the shapes whose name starts with this (block, down, down_64…)." };
        var im2col = new Option<bool>("--im2col") { Description = "Instead: im2col / col2im of one sample per shape, one thread, the fast paths against the generic ones, interleaved." };
        var command = new Command("conv-kernels", "The MNIST ODE-Net's Conv2d kernels alone: CPU seconds and GFLOP/s per call.") { repeats, rounds, only, im2col };
        command.SetAction(pr =>
        {
            int r = pr.GetValue(repeats), n = pr.GetValue(rounds);
            if (r < 3 || n < 1) { Console.Error.WriteLine("--repeats ≥ 3, --rounds ≥ 1."); return 2; }
            for (int i = 0; i < n; i++)
                if (pr.GetValue(im2col)) RunIm2Col(r, pr.GetValue(only) ?? "");
                else Run(r, pr.GetValue(only) ?? "");
            return 0;
        });
        return command;
    }

    private static readonly (string Name, Conv2dShape Shape, int Calls)[] Shapes =
    [
        ("block_65x6x6_k3_s1", new Conv2dShape(32, 65, 6, 6, 64, 3, 3, 1, 1), 20),
        ("down_1x28x28_k3_s1", new Conv2dShape(128, 1, 28, 28, 64, 3, 3, 1, 0), 2),
        ("down_64x26x26_k4_s2", new Conv2dShape(128, 64, 26, 26, 64, 4, 4, 2, 1), 2),
        ("down_64x13x13_k4_s2", new Conv2dShape(128, 64, 13, 13, 64, 4, 4, 2, 1), 2),
    ];

    /// <summary>µs per sample of Im2Col.Gather and Scatter, fast paths (Im2Col's small and plane paths) and generic path
    /// alternating repeat by repeat on this thread, medians.</summary>
    private static void RunIm2Col(int repeats, string only)
    {
        var process = Process.GetCurrentProcess();
        foreach (var (name, shape, _) in Shapes.Where(q => q.Name.StartsWith(only, StringComparison.Ordinal)))
        {
            var s = shape with { Batch = 1 };
            int ld = s.OutSpatial, samples = Math.Max(8, 200_000 / (s.PatchSize * s.OutSpatial));
            var x = new float[s.InputLength];
            var col = new float[s.PatchSize * ld];
            var rng = new Random(5);
            for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
            for (int i = 0; i < col.Length; i++) col[i] = (float)rng.NextDouble();
            foreach (var op in new[] { "gather", "scatter" })
            {
                var times = new[] { new double[repeats], new double[repeats] };
                for (int r = -1; r < repeats; r++)
                    for (int path = 0; path < 2; path++)
                    {
                        Im2Col.SmallPathsOff = path == 1;
                        var sw = Stopwatch.StartNew();
                        for (int i = 0; i < samples; i++)
                            if (op == "gather") Im2Col.Gather<float>(s, x, col, ld);
                            else Im2Col.Scatter<float>(s, col, ld, x);
                        if (r >= 0) times[path][r] = sw.Elapsed.TotalSeconds / samples;
                    }
                Im2Col.SmallPathsOff = false;
                Array.Sort(times[0]);
                Array.Sort(times[1]);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{{\"bench\": \"conv-kernels\", \"shape\": \"{name}\", \"im2col\": \"{op}\", \"fast_us_per_sample\": {times[0][repeats / 2] * 1e6:G4}, \"generic_us_per_sample\": {times[1][repeats / 2] * 1e6:G4}}}"));
            }
        }
    }

    private static void Run(int repeats, string only)
    {
        var rng = new Random(3);
        float[] Random(int n) { var v = new float[n]; for (int i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() - 0.5); return v; }
        var shapes = Shapes;
        var process = Process.GetCurrentProcess();
        foreach (var (name, s, calls) in shapes.Where(q => q.Name.StartsWith(only, StringComparison.Ordinal)))
        {
            float[] input = Random(s.InputLength), weight = Random(s.WeightLength), bias = Random(s.OutChannels), output = Random(s.OutputLength);
            float[] scratch = new float[s.ScratchLength], gw = new float[s.WeightLength], gb = new float[s.OutChannels];
            double flops = 2.0 * s.Batch * s.OutChannels * s.PatchSize * s.OutSpatial;
            foreach (var (kernel, body) in new (string, Action)[] {
                ("forward", () => Conv2d.Forward<float>(s, input, weight, bias, output, scratch)),
                ("backward_input", () => Conv2d.BackwardInput<float>(s, output, weight, input, scratch)),
                ("backward_weight", () => Conv2d.BackwardWeight<float>(s, input, output, gw, gb, scratch)) })
            {
                for (int i = 0; i < calls; i++) body(); // warm-up
                var cpu = new double[repeats];
                for (int r = 0; r < repeats; r++)
                {
                    process.Refresh();
                    var c0 = process.TotalProcessorTime;
                    for (int i = 0; i < calls; i++) body();
                    process.Refresh();
                    cpu[r] = (process.TotalProcessorTime - c0).TotalSeconds / calls;
                }
                Array.Sort(cpu);
                double c = cpu[repeats / 2];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{{\"bench\": \"conv-kernels\", \"shape\": \"{name}\", \"kernel\": \"{kernel}\", \"batch\": {s.Batch}, \"cpu_ms_per_call\": {c * 1e3:G5}, \"gflops_per_cpu_s\": {flops / c / 1e9:G4}}}"));
            }
        }
    }
}
