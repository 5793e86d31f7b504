using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Mnist;
using OdeDsl.Tensors;

namespace OdeDsl.Bench.Commands;

/// <summary>
/// <c>mnist-step [--batch 128] [--test-batch 1000] [--repeats 5] [--threads 2] [--export DIR] [--time-in-norm false] [--overshoot false] [--step-only]</c>: the
/// MNIST ODE-Net of examples/Mnist (float32, dopri5 rtol = atol = 1e-3, adjoint) on random images with the default initial
/// weights. JSON lines, each with wall-time medians (and minima) and the process CPU seconds: one training step (forward +
/// adjoint backward + downsampling/head VJPs) with its loss and evaluation counts; one test pass; the downsampling layers'
/// forward and VJP; the ODE block's f evaluation and fused f + VJP; its kernels (Conv2d forward/backward, GroupNorm) at the
/// solver's 32-row chunk with GFLOP/s per CPU second and their share of the step's CPU time. <c>--export DIR</c> also writes
/// the classifier's θ and both batches (images and labels) to DIR/mnist_step.bin (little-endian float32) with an index in
/// DIR/mnist_step.json, for bench/torch/mnist_step_torch.py to run torchdiffeq on the same weights and data.
/// </summary>
public static class MnistStepCommand
{
    public static Command Create()
    {
        var batch = new Option<int>("--batch") { Description = "Training batch.", DefaultValueFactory = _ => 128 };
        var testBatch = new Option<int>("--test-batch") { Description = "Test batch.", DefaultValueFactory = _ => 1000 };
        var repeats = new Option<int>("--repeats") { Description = "Timed repeats (≥ 3) of each measurement.", DefaultValueFactory = _ => 5 };
        var threads = new Option<int>("--threads") { Description = "1 or 2.", DefaultValueFactory = _ => Environment.ProcessorCount > 1 ? 2 : 1 };
        var export = new Option<string?>("--export") { Description = "Directory to write θ and the two batches to (mnist_step.bin + mnist_step.json) for bench/torch/mnist_step_torch.py." };
        var stepOnly = new Option<bool>("--step-only") { Description = "Only the training step and its per-phase breakdown (interleaved comparisons)." };
        var timeInNorm = new Option<bool>("--time-in-norm") { Description = "Whether a_t enters the adjoint's error norm (OdeDsl's default, and torchdiffeq 0.2.5's for a field that reads t: its augmented dynamics always differentiate f in t).", DefaultValueFactory = _ => true };
        // torchdiffeq lets the last step of both solves run past the end and interpolates there; from t = 1 back to 0 that
        // longer last step is rejected where ours, clipped at 0, is accepted: 38 backward evaluations against 32.
        var overshoot = new Option<bool>("--overshoot") { Description = "Let the last step of the forward and backward solves run past the end, as torchdiffeq does (SolveOptions.OvershootFinalTime), for step-for-step parity with bench/torch/mnist_step_torch.py; false: steps end at the final time (the example's default).", DefaultValueFactory = _ => true };
        var gradientOut = new Option<string?>("--gradient-out") { Description = "File to write the training step's gradient to (raw little-endian float32), to compare two builds whose gradient hashes differ." };
        var command = new Command("mnist-step", "MNIST ODE-Net: one training step at batch 128, one test pass at batch 1000, and its kernels.") { batch, testBatch, repeats, threads, export, timeInNorm, overshoot, stepOnly, gradientOut };
        command.SetAction(pr =>
        {
            int b = pr.GetValue(batch), tb = pr.GetValue(testBatch), r = pr.GetValue(repeats), th = pr.GetValue(threads);
            if (b < 1 || tb < 1 || r < 3 || th is not (1 or 2)) { Console.Error.WriteLine("--batch, --test-batch ≥ 1, --repeats ≥ 3, --threads 1 or 2."); return 2; }
            Parallelism.MaxThreads = th;
            Run(b, tb, r, th, pr.GetValue(export), pr.GetValue(timeInNorm), pr.GetValue(overshoot), pr.GetValue(stepOnly), pr.GetValue(gradientOut));
            return 0;
        });
        return command;
    }

    private static string Json(params (string Key, object Value)[] fields) =>
        "{" + string.Join(", ", fields.Select(f => $"\"{f.Key}\": " + f.Value switch
        {
            string s => $"\"{s}\"",
            bool b => b ? "true" : "false",
            double d => d.ToString("G6", CultureInfo.InvariantCulture),
            _ => Convert.ToString(f.Value, CultureInfo.InvariantCulture),
        })) + "}";

    /// <summary>Median and fastest wall seconds of the repeats, and the median process CPU seconds (all threads): on a
    /// shared machine the CPU time is the steadier figure of the work done.</summary>
    private static (double Median, double Min, double Cpu) Time(int repeats, Action body)
    {
        body(); // warm-up
        var t = new double[repeats];
        var cpu = new double[repeats];
        var process = Process.GetCurrentProcess();
        for (int i = 0; i < repeats; i++)
        {
            process.Refresh();
            var c0 = process.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            body();
            t[i] = sw.Elapsed.TotalSeconds;
            process.Refresh();
            cpu[i] = (process.TotalProcessorTime - c0).TotalSeconds;
        }
        Array.Sort(t);
        Array.Sort(cpu);
        return (t[repeats / 2], t[0], cpu[repeats / 2]);
    }

    /// <summary>Rows per chunk of the solver's two-thread evaluation of this block (RowChunkedEvaluator: 32 here, its minimum).</summary>
    private const int ChunkRows = 32;

    private static void Run(int batch, int testBatch, int repeats, int threads, string? exportDir, bool timeInNorm, bool overshoot, bool stepOnly, string? gradientOut)
    {
        var rng = new Random(1);
        float[] Images(int n) { var x = new float[n * 784]; for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble(); return x; }
        byte[] Labels(int n) => Enumerable.Range(0, n).Select(i => (byte)(i % 10)).ToArray();
        var common = new (string, object)[] { ("bench", "mnist-step"), ("threads", threads), ("precision", "float32") };

        var options = new SolveOptions<float> { RelTol = 1e-3f, AbsTol = 1e-3f, OvershootFinalTime = overshoot };
        var train = new MnistClassifier<float>(ModelKind.OdeNet, batch, options, adjoint: new OdeDsl.AdjointOptions { TimeChannelInNorm = timeInNorm });
        float[] x = Images(batch); byte[] y = Labels(batch);
        float[] xt = Images(testBatch); byte[] yt = Labels(testBatch);
        if (exportDir is not null) Export(exportDir, train.Theta, x, y, xt, yt);
        var g = new float[train.ParameterCount];
        BatchResult last = train.Run(x, y, g); // warm-up outside the phase sums
        var phases = new double[MnistClassifier<float>.PhaseNames.Length];
        train.PhaseSeconds = phases;
        long bytes0 = GC.GetTotalAllocatedBytes(precise: true);
        int gen0 = GC.CollectionCount(0), gen2 = GC.CollectionCount(2);
        var (med, min, cpu) = Time(repeats, () => last = train.Run(x, y, g));
        double allocMb = (GC.GetTotalAllocatedBytes(precise: true) - bytes0) / 1e6 / (repeats + 1);
        double gen0PerStep = (GC.CollectionCount(0) - gen0) / (double)(repeats + 1), gen2PerStep = (GC.CollectionCount(2) - gen2) / (double)(repeats + 1);
        train.PhaseSeconds = null;
        if (gradientOut is not null) File.WriteAllBytes(gradientOut, System.Runtime.InteropServices.MemoryMarshal.AsBytes(g.AsSpan()).ToArray());
        var step = last;
        double stepCpu = cpu;
        Console.WriteLine(Json([.. common, ("mode", "train_step"), ("batch", batch), ("time_in_norm", timeInNorm), ("overshoot", overshoot), ("nfe_forward", last.NfeForward), ("nfe_backward", last.NfeBackward),
            ("loss", last.Loss), ("gradient_hash", GradientHash(g)), ("median_seconds", med), ("min_seconds", min), ("cpu_seconds", cpu)]));
        Console.WriteLine(Json([.. common, ("mode", "train_step_memory"), ("allocated_mb_per_step", allocMb), ("gen0_collections_per_step", gen0PerStep), ("gen2_collections_per_step", gen2PerStep)]));
        // Mean wall seconds per step of each phase (the timed repeats and Time's own warm-up call).
        Console.WriteLine(Json([.. common, ("mode", "train_step_phases"), .. MnistClassifier<float>.PhaseNames.Select((name, i) => (name, (object)(phases[i] / (repeats + 1))))]));
        if (stepOnly) return;

        var test = new MnistClassifier<float>(ModelKind.OdeNet, testBatch, options);
        (med, min, cpu) = Time(Math.Max(3, repeats / 2), () => last = test.Run(xt, yt, default));
        Console.WriteLine(Json([.. common, ("mode", "test_pass"), ("batch", testBatch), ("nfe_forward", last.NfeForward), ("loss", last.Loss), ("correct", last.Correct),
            ("median_seconds", med), ("min_seconds", min), ("cpu_seconds", cpu)]));

        // The downsampling layers at the training batch (one call each, as MnistClassifier makes them).
        var thetaDown = train.Theta.AsSpan(0, Downsampling.DownFunction.ParameterCount).ToArray();
        var feat = new float[batch * 2304];
        var downWs = new float[Downsampling.DownFunction.WorkspaceLength(batch)];
        var (dMed, _, dCpu) = Time(repeats, () => Downsampling.DownFunction.Forward<float>(x, thetaDown, feat, batch, downWs));
        var dx = new float[batch * 784];
        var dTheta = new float[thetaDown.Length];
        // As MnistClassifier makes it: the reverse sweep alone, after the forward pass above left its values in downWs.
        Downsampling.DownFunction.Forward<float>(x, thetaDown, feat, batch, downWs);
        var (dvMed, _, dvCpu) = Time(repeats, () => Downsampling.DownFunction.VectorJacobianProductAfterForward<float>(x, thetaDown, feat, dx, dTheta, batch, downWs));
        // Multiply-adds ×2: 1→64 3×3 on 26×26, 64→64 4×4 on 13×13 and on 6×6.
        double downFlops = 2.0 * batch * 64 * (9 * 676 + 1024 * 169 + 1024 * 36);
        Console.WriteLine(Json([.. common, ("mode", "downsampling_forward"), ("batch", batch), ("median_seconds", dMed), ("cpu_seconds", dCpu), ("conv_gflops_per_s", downFlops / dMed / 1e9)]));
        Console.WriteLine(Json([.. common, ("mode", "downsampling_vjp"), ("batch", batch), ("median_seconds", dvMed), ("cpu_seconds", dvCpu), ("conv_gflops_per_s", 2 * downFlops / dvMed / 1e9)]));
        // Its three convolutions' kernels alone, whole batch, as the generated code calls them (two threads for large calls).
        foreach (var ds in new[] { new Conv2dShape(batch, 1, 28, 28, 64, 3, 3, 1, 0), new Conv2dShape(batch, 64, 26, 26, 64, 4, 4, 2, 1), new Conv2dShape(batch, 64, 13, 13, 64, 4, 4, 2, 1) })
        {
            float[] din = Images(ds.InputLength / 784 + 1).AsSpan(0, ds.InputLength).ToArray(), dk = Images(ds.WeightLength / 784 + 1).AsSpan(0, ds.WeightLength).ToArray();
            float[] dout = new float[ds.OutputLength], dscratch = new float[ds.ScratchLength], dgk = new float[ds.WeightLength], dgb = new float[64], dbias = new float[64];
            double f = 2.0 * batch * 64 * ds.PatchSize * ds.OutSpatial;
            string name = $"{ds.InChannels}x{ds.Height}x{ds.Width}_k{ds.KernelHeight}_s{ds.Stride}";
            foreach (var (kernel, body) in new (string, Action)[] {
                ("forward", () => Conv2d.Forward<float>(ds, din, dk, dbias, dout, dscratch)),
                ("backward_input", () => Conv2d.BackwardInput<float>(ds, dout, dk, din, dscratch)),
                ("backward_weight", () => Conv2d.BackwardWeight<float>(ds, din, dout, dgk, dgb, dscratch)) })
            {
                var (km, _, kc) = Time(repeats, body);
                Console.WriteLine(Json([.. common, ("mode", "downsampling_kernel"), ("shape", name), ("kernel", kernel), ("batch", batch), ("median_seconds", km), ("cpu_seconds", kc),
                    ("gflops_per_s", f / km / 1e9), ("gflops_per_cpu_s", f / kc / 1e9)]));
            }
        }

        // The ODE block alone at the training batch, one call (one thread): one f evaluation and one fused f + VJP.
        float[] theta = OdeBlock.Parameters.Initialize<float>(1);
        int S = OdeBlock.Dynamics.StateSize;
        float[] h = Images(batch * S / 784 + 1).AsSpan(0, batch * S).ToArray(), a = Images(batch * S / 784 + 1).AsSpan(0, batch * S).ToArray();
        float[] t = new float[batch], dh = new float[batch * S], gh = new float[batch * S], gth = new float[theta.Length], gt = new float[batch];
        var ws = new float[OdeBlock.Dynamics.WorkspaceLength(batch)];
        var (fMed, fMin, _) = Time(repeats * 4, () => OdeBlock.Dynamics.Evaluate<float>(t, h, theta, dh, batch, ws));
        double convFlops = 2.0 * 64 * 65 * 9 * 36; // one ConcatConv (65 → 64, 3×3) on 6×6, per row; an f evaluation has two
        Console.WriteLine(Json([.. common, ("mode", "ode_block_f"), ("batch", batch), ("median_seconds", fMed), ("min_seconds", fMin),
            ("conv_gflops_per_s", 2 * convFlops * batch / fMed / 1e9)]));
        var (vMed, vMin, _) = Time(repeats * 2, () => OdeBlock.Dynamics.EvaluateAndVectorJacobianProduct<float>(t, h, theta, a, dh, gh, gth, gt, batch, ws));
        Console.WriteLine(Json([.. common, ("mode", "ode_block_f_and_vjp"), ("batch", batch), ("median_seconds", vMed), ("min_seconds", vMin),
            ("conv_gflops_per_s", 6 * convFlops * batch / vMed / 1e9)]));

        // Kernels at the solver's chunk (32 rows: what each of the two threads runs), one thread, CPU seconds per call.
        int kb = Math.Min(batch, ChunkRows);
        var shape = new Conv2dShape(kb, 65, 6, 6, 64, 3, 3, 1, 1);
        float[] cin = Images(shape.InputLength / 784 + 1).AsSpan(0, shape.InputLength).ToArray(), k = new float[shape.WeightLength], bias = new float[64];
        float[] cout = new float[shape.OutputLength], scratch = new float[shape.ScratchLength], gk = new float[shape.WeightLength], gb = new float[64];
        for (int i = 0; i < k.Length; i++) k[i] = (float)(rng.NextDouble() - 0.5) * 0.08f;
        int reps = repeats * 8;
        var kernels = new List<(string Name, double Wall, double Cpu, double Flops, double PerStep)>();
        double nf = step.NfeForward, nb = step.NfeBackward, chunks = Math.Ceiling(batch / (double)kb);
        void Kernel(string name, double flops, double callsPerStep, Action body)
        {
            var (w, _, c) = Time(reps, () => { for (int i = 0; i < 10; i++) body(); });
            kernels.Add((name, w / 10, c / 10, flops, callsPerStep * chunks));
        }
        Kernel("conv_forward", convFlops * kb, 2 * (nf + nb), () => Conv2d.Forward<float>(shape, cin, k, bias, cout, scratch));
        Kernel("conv_backward_input", convFlops * kb, 2 * nb, () => Conv2d.BackwardInput<float>(shape, cout, k, cin, scratch));
        Kernel("conv_backward_weight", convFlops * kb, 2 * nb, () => Conv2d.BackwardWeight<float>(shape, cin, cout, gk, gb, scratch));
        int size = kb * S;
        float[] gamma = Enumerable.Repeat(1f, 64).ToArray(), beta = new float[64], stats = new float[kb * 64], gy = new float[size], gx = new float[size], gg = new float[64], gbeta = new float[64];
        Kernel("groupnorm_forward", 0, 3 * (nf + nb), () => GroupNorm.Forward<float>(kb, 64, 36, 32, 1e-5f, h, gamma, beta, gy, stats));
        Kernel("groupnorm_backward", 0, 3 * nb, () => GroupNorm.Backward<float>(kb, 64, 36, 32, h, gamma, stats, a, gx, gg, gbeta));
        foreach (var (name, wall, c, flops, perStep) in kernels)
            Console.WriteLine(Json([.. common, ("mode", "kernel"), ("kernel", name), ("batch", kb), ("median_seconds", wall), ("cpu_seconds", c),
                ("gflops_per_cpu_s", flops > 0 ? flops / c / 1e9 : 0.0), ("calls_per_step", perStep), ("share_of_step_cpu", perStep * c / stepCpu)]));
        // The downsampling's share from its own lines; the rest (solver, adjoint bookkeeping, ReLU, ConcatChannel, head) is the remainder.
        double kernelShare = kernels.Sum(q => q.PerStep * q.Cpu) / stepCpu, downShare = (dCpu + dvCpu) / stepCpu;
        Console.WriteLine(Json([.. common, ("mode", "step_breakdown"), ("step_cpu_seconds", stepCpu), ("block_kernels_share", kernelShare),
            ("downsampling_share", downShare), ("rest_share", 1 - kernelShare - downShare)]));
    }

    /// <summary>FNV-1a over the gradient's bits (hex): equal hashes from two runs or two builds mean bit-identical gradients.</summary>
    private static string GradientHash(float[] g)
    {
        ulong h = 14695981039346656037UL;
        foreach (float v in g) { h ^= BitConverter.SingleToUInt32Bits(v); h *= 1099511628211UL; }
        return h.ToString("x16");
    }

    /// <summary>θ ([downsampling | ODE block | head], each in its layout's order) and the batches as raw float32, plus a JSON
    /// index: every tensor's name, offset (in floats) and shape; labels inline.</summary>
    private static void Export(string dir, float[] theta, float[] x, byte[] y, float[] xt, byte[] yt)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("--export writes little-endian float32 and this machine is big-endian.");
        Directory.CreateDirectory(dir);
        var entries = new List<string>();
        long offset = 0;
        void Add(string name, int[] shape, int length)
        {
            entries.Add($"{{\"name\": \"{name}\", \"offset\": {offset}, \"shape\": [{string.Join(", ", shape)}]}}");
            offset += length;
        }
        foreach (var (prefix, layout) in new[] { ("down", Downsampling.DownFunction.Layout), ("block", OdeBlock.Parameters), ("head", Classifier.HeadFunction.Layout) })
            foreach (var e in layout.Entries) Add($"{prefix}.{e.Name}", e.Shape, e.Length);
        if (offset != theta.Length) throw new InvalidOperationException($"layouts cover {offset} of θ's {theta.Length} parameters.");
        Add("train_images", [y.Length, 1, 28, 28], x.Length);
        Add("test_images", [yt.Length, 1, 28, 28], xt.Length);
        using (var f = File.Create(Path.Combine(dir, "mnist_step.bin")))
            foreach (var part in new[] { theta, x, xt })
                f.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(part.AsSpan()));
        File.WriteAllText(Path.Combine(dir, "mnist_step.json"),
            "{\"dtype\": \"float32\", \"tensors\": [\n  " + string.Join(",\n  ", entries) + "\n],\n" +
            $"\"train_labels\": [{string.Join(", ", y)}],\n\"test_labels\": [{string.Join(", ", yt)}]}}\n");
        Console.Error.WriteLine($"wrote {offset} floats to {Path.Combine(dir, "mnist_step.bin")} (index mnist_step.json)");
    }
}
