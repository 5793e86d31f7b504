using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Mnist;
using OdeDsl.Tensors;

namespace OdeDsl.Bench.Commands;

/// <summary>
/// <c>mnist-step [--batch 128] [--test-batch 1000] [--repeats 5] [--threads 2]</c>: the MNIST ODE-Net of examples/Mnist
/// (float32, dopri5 rtol = atol = 1e-3, adjoint) on random images with the default initial weights. JSON lines:
/// one training step (forward + adjoint backward + downsampling/head VJPs) with its evaluation counts; one test pass;
/// the ODE block's f evaluation and VJP; and its kernels (Conv2d forward/backward, GroupNorm) with GFLOP/s, so their
/// share of an f evaluation can be read off. Times are medians (and minima) of the repeats.
/// </summary>
public static class MnistStepCommand
{
    public static Command Create()
    {
        var batch = new Option<int>("--batch") { Description = "Training batch.", DefaultValueFactory = _ => 128 };
        var testBatch = new Option<int>("--test-batch") { Description = "Test batch.", DefaultValueFactory = _ => 1000 };
        var repeats = new Option<int>("--repeats") { Description = "Timed repeats (≥ 3) of each measurement.", DefaultValueFactory = _ => 5 };
        var threads = new Option<int>("--threads") { Description = "1 or 2.", DefaultValueFactory = _ => Environment.ProcessorCount > 1 ? 2 : 1 };
        var command = new Command("mnist-step", "MNIST ODE-Net: one training step at batch 128, one test pass at batch 1000, and its kernels.") { batch, testBatch, repeats, threads };
        command.SetAction(pr =>
        {
            int b = pr.GetValue(batch), tb = pr.GetValue(testBatch), r = pr.GetValue(repeats), th = pr.GetValue(threads);
            if (b < 1 || tb < 1 || r < 3 || th is not (1 or 2)) { Console.Error.WriteLine("--batch, --test-batch ≥ 1, --repeats ≥ 3, --threads 1 or 2."); return 2; }
            Parallelism.MaxThreads = th;
            Run(b, tb, r, th);
            return 0;
        });
        return command;
    }

    private static string Json(params (string Key, object Value)[] fields) =>
        "{" + string.Join(", ", fields.Select(f => $"\"{f.Key}\": " + f.Value switch
        {
            string s => $"\"{s}\"",
            double d => d.ToString("G6", CultureInfo.InvariantCulture),
            _ => Convert.ToString(f.Value, CultureInfo.InvariantCulture),
        })) + "}";

    private static (double Median, double Min) Time(int repeats, Action body)
    {
        body(); // warm-up
        var t = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            body();
            t[i] = sw.Elapsed.TotalSeconds;
        }
        Array.Sort(t);
        return (t[repeats / 2], t[0]);
    }

    private static void Run(int batch, int testBatch, int repeats, int threads)
    {
        var rng = new Random(1);
        float[] Images(int n) { var x = new float[n * 784]; for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble(); return x; }
        byte[] Labels(int n) => Enumerable.Range(0, n).Select(i => (byte)(i % 10)).ToArray();
        var common = new (string, object)[] { ("bench", "mnist-step"), ("threads", threads), ("precision", "float32") };

        var train = new MnistClassifier<float>(ModelKind.OdeNet, batch);
        float[] x = Images(batch); byte[] y = Labels(batch);
        var g = new float[train.ParameterCount];
        BatchResult last = default;
        var (med, min) = Time(repeats, () => last = train.Run(x, y, g));
        Console.WriteLine(Json([.. common, ("mode", "train_step"), ("batch", batch), ("nfe_forward", last.NfeForward), ("nfe_backward", last.NfeBackward),
            ("median_seconds", med), ("min_seconds", min)]));

        var test = new MnistClassifier<float>(ModelKind.OdeNet, testBatch);
        float[] xt = Images(testBatch); byte[] yt = Labels(testBatch);
        (med, min) = Time(Math.Max(3, repeats / 2), () => last = test.Run(xt, yt, default));
        Console.WriteLine(Json([.. common, ("mode", "test_pass"), ("batch", testBatch), ("nfe_forward", last.NfeForward), ("median_seconds", med), ("min_seconds", min)]));

        // The ODE block alone at the training batch: one f evaluation and one fused f + VJP (the adjoint's augmented evaluation).
        float[] theta = OdeBlock.Parameters.Initialize<float>(1);
        int S = OdeBlock.Dynamics.StateSize;
        float[] h = Images(batch * S / 784 + 1).AsSpan(0, batch * S).ToArray(), a = Images(batch * S / 784 + 1).AsSpan(0, batch * S).ToArray();
        float[] t = new float[batch], dh = new float[batch * S], gh = new float[batch * S], gth = new float[theta.Length], gt = new float[batch];
        var ws = new float[OdeBlock.Dynamics.WorkspaceLength(batch)];
        var (fMed, fMin) = Time(repeats * 4, () => OdeBlock.Dynamics.Evaluate<float>(t, h, theta, dh, batch, ws));
        double convFlops = 2.0 * 64 * 65 * 9 * 36 * batch; // one ConcatConv (65 → 64, 3×3) on 6×6, per evaluation ×2
        Console.WriteLine(Json([.. common, ("mode", "ode_block_f"), ("batch", batch), ("median_seconds", fMed), ("min_seconds", fMin),
            ("conv_gflops_per_s", 2 * convFlops / fMed / 1e9)]));
        var (vMed, vMin) = Time(repeats * 2, () => OdeBlock.Dynamics.EvaluateAndVectorJacobianProduct<float>(t, h, theta, a, dh, gh, gth, gt, batch, ws));
        Console.WriteLine(Json([.. common, ("mode", "ode_block_f_and_vjp"), ("batch", batch), ("median_seconds", vMed), ("min_seconds", vMin),
            ("conv_gflops_per_s", 6 * convFlops / vMed / 1e9)]));

        // Kernels at the block's shapes (one call each).
        var shape = new Conv2dShape(batch, 65, 6, 6, 64, 3, 3, 1, 1);
        float[] cin = Images(shape.InputLength / 784 + 1).AsSpan(0, shape.InputLength).ToArray(), k = new float[shape.WeightLength], bias = new float[64];
        float[] cout = new float[shape.OutputLength], scratch = new float[shape.ScratchLength], gk = new float[shape.WeightLength], gb = new float[64];
        for (int i = 0; i < k.Length; i++) k[i] = (float)(rng.NextDouble() - 0.5) * 0.08f;
        var (cf, _) = Time(repeats * 4, () => Conv2d.Forward<float>(shape, cin, k, bias, cout, scratch));
        var (ci, _) = Time(repeats * 4, () => Conv2d.BackwardInput<float>(shape, cout, k, cin, scratch));
        var (cw, _) = Time(repeats * 4, () => Conv2d.BackwardWeight<float>(shape, cin, cout, gk, gb, scratch));
        int size = batch * S;
        float[] gamma = Enumerable.Repeat(1f, 64).ToArray(), beta = new float[64], stats = new float[batch * 64], gy = new float[size], gx = new float[size], gg = new float[64], gbeta = new float[64];
        var (gn, _) = Time(repeats * 4, () => GroupNorm.Forward<float>(batch, 64, 36, 32, 1e-5f, h, gamma, beta, gy, stats));
        var (gnb, _) = Time(repeats * 4, () => GroupNorm.Backward<float>(batch, 64, 36, 32, h, gamma, stats, a, gx, gg, gbeta));
        foreach (var (name, sec, flops) in new[] { ("conv_forward", cf, convFlops), ("conv_backward_input", ci, convFlops), ("conv_backward_weight", cw, convFlops),
                     ("groupnorm_forward", gn, 0.0), ("groupnorm_backward", gnb, 0.0) })
            Console.WriteLine(Json([.. common, ("mode", "kernel"), ("kernel", name), ("batch", batch), ("median_seconds", sec),
                ("gflops_per_s", flops > 0 ? flops / sec / 1e9 : 0.0), ("share_of_f", name.StartsWith("conv_forward") ? 2 * sec / fMed : name == "groupnorm_forward" ? 3 * sec / fMed : 0.0)]));
    }
}
