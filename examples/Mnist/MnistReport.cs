using System.Globalization;
using System.Text;
using System.Text.Json;
using OdeDsl;
using OdeDsl.Plotting;

namespace Mnist;

/// <summary>Figure 3 from the logged statistics and Table 1 from finished runs plus a memory measurement.</summary>
public static class MnistReport
{
    /// <summary>Figure 3 (a)–(d) as one SVG, <c>&lt;outDir&gt;/figure3.svg</c>, from metrics.jsonl and tolerance_sweep.jsonl (when present).</summary>
    public static void WriteFigure3(string outDir)
    {
        var batches = ReadLines(Path.Combine(outDir, "metrics.jsonl"));
        if (batches.Count == 0) return;
        var sweep = ReadLines(Path.Combine(outDir, "tolerance_sweep.jsonl"));
        var panels = new List<SvgPlot>();
        if (sweep.Count > 0)
            panels.Add(new SvgPlot("(a) test error vs NFE (tolerance 1e-1…1e-5)", "NFE forward", "test error (%)")
                .Line("ODE-Net", sweep.Select(r => r["nfe_forward_mean"]).ToArray(), sweep.Select(r => 100 * r["test_error"]).ToArray(), "#1f77b4")
                .Scatter("", sweep.Select(r => r["nfe_forward_mean"]).ToArray(), sweep.Select(r => 100 * r["test_error"]).ToArray(), "#1f77b4"));
        // Training batches grouped by their forward NFE: mean wall time and mean backward NFE of each group.
        var groups = batches.GroupBy(r => r["nfe_forward"]).OrderBy(g => g.Key).ToArray();
        double[] nfe = groups.Select(g => g.Key).ToArray();
        panels.Add(new SvgPlot("(b) time per training step vs NFE", "NFE forward", "seconds per step (mean)")
            .Scatter("ODE-Net", nfe, groups.Select(g => g.Average(r => r["seconds"])).ToArray(), "#1f77b4"));
        double max = nfe.Max();
        panels.Add(new SvgPlot("(c) backward vs forward NFE", "NFE forward", "NFE backward (mean)")
            .Scatter("ODE-Net", nfe, groups.Select(g => g.Average(r => r["nfe_backward"])).ToArray(), "#1f77b4")
            .Line("backward = forward / 2", [0, max], [0, max / 2], "#7f7f7f", dashed: true)
            .Line("backward = forward", [0, max], [0, max], "#bbbbbb", dashed: true));
        // (d): forward NFE over training, averaged over windows of ~1/200 of the run.
        int window = Math.Max(1, batches.Count / 200);
        var chunks = batches.Chunk(window).ToArray();
        panels.Add(new SvgPlot("(d) NFE forward over training", "training step", $"NFE forward (mean of {window})")
            .Line("ODE-Net", chunks.Select(c => c.Average(r => r["iteration"])).ToArray(), chunks.Select(c => c.Average(r => r["nfe_forward"])).ToArray(), "#1f77b4"));
        SvgFigure.Save(Path.Combine(outDir, "figure3.svg"), panels.ToArray());
    }

    private static List<Dictionary<string, double>> ReadLines(string path)
    {
        var rows = new List<Dictionary<string, double>>();
        if (!File.Exists(path)) return rows;
        foreach (string line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var doc = JsonDocument.Parse(line);
            var row = new Dictionary<string, double>();
            foreach (var p in doc.RootElement.EnumerateObject())
                row[p.Name] = p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetDouble() : double.NaN;
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>A peak-memory measurement: the label, the solver setting and the bytes.</summary>
    public sealed record MemoryRow(string Model, string Setting, long PeakBytes, long StepBytes, long NfeForward, long NfeBackward);

    /// <summary>Table 1: test error of the finished runs under <paramref name="root"/>, parameter counts, and measured memory.</summary>
    public static int WriteTable(string root)
    {
        Console.WriteLine("Measuring the peak memory of one gradient step at batch 128 for each model (random images) …");
        var rows = MeasureMemory(128, Console.WriteLine);
        var sb = new StringBuilder();
        sb.AppendLine("# Table 1: MNIST test error, parameters and gradient memory");
        sb.AppendLine();
        sb.AppendLine("Written by `dotnet run -c Release --project examples/Mnist -- --table`. Test errors come from each model's");
        sb.AppendLine("`summary.json` (its training run; see the epochs column); paper figures from Chen et al. 2018, Table 1.");
        sb.AppendLine();
        sb.AppendLine("| model | test error (ours) | epochs trained | test error (paper) | parameters (ours) | parameters (paper) |");
        sb.AppendLine("|---|---|---|---|---|---|");
        (string key, string name, string paper, string paperParams)[] models =
            [("mlp", "1-layer MLP", "1.60 %", "0.24 M"), ("resnet", "ResNet", "0.41 %", "0.60 M"), ("rknet", "RK-Net", "0.47 %", "0.22 M"), ("odenet", "ODE-Net", "0.42 %", "0.22 M")];
        foreach (var (key, name, paper, paperParams) in models)
        {
            string summaryPath = Path.Combine(root, key, "summary.json");
            string error = "not run", epochs = "-";
            int parameters = new MnistClassifier<float>(Enum.Parse<ModelKind>(key, true), 1).ParameterCount;
            if (File.Exists(summaryPath))
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(summaryPath));
                var r = doc.RootElement;
                error = $"{100 * r.GetProperty("test_error").GetDouble():F2} %";
                epochs = $"{r.GetProperty("epochs_completed").GetInt32()} of {r.GetProperty("epochs_planned").GetInt32()}"
                         + (r.GetProperty("stopped_early").GetBoolean() ? " (+ part of one)" : "")
                         + (r.GetProperty("train_images").GetInt32() < 60000 ? $", {r.GetProperty("train_images").GetInt32()} images" : "")
                         + (r.GetProperty("test_images").GetInt32() < 10000 ? $"; tested on {r.GetProperty("test_images").GetInt32()} images" : "");
            }
            sb.AppendLine($"| {name} | {error} | {epochs} | {paper} | {parameters:N0} | {paperParams} |");
        }
        sb.AppendLine();
        sb.AppendLine("Peak managed memory of one gradient step (batch 128, float32): the largest heap seen while the model is built and");
        sb.AppendLine("takes one forward + backward pass, minus the collected heap before (a 1 kHz sampler, plus the live heap after a full");
        sb.AppendLine("collection right after the feature block's forward and backward passes; managed objects only).");
        sb.AppendLine("'step' is the part allocated by the step itself (solver records, tapes, adjoint buffers) above the model's fixed buffers.");
        sb.AppendLine();
        sb.AppendLine("| model | depth / solver | NFE forward / backward | peak (MB) | step (MB) |");
        sb.AppendLine("|---|---|---|---|---|");
        foreach (var r in rows)
            sb.AppendLine($"| {r.Model} | {r.Setting} | {r.NfeForward} / {r.NfeBackward} | {r.PeakBytes / 1e6:F1} | {r.StepBytes / 1e6:F1} |");
        Directory.CreateDirectory(root);
        string path = Path.Combine(root, "table1.md");
        OdeDsl.Training.AtomicFile.WriteAllBytes(path, Encoding.UTF8.GetBytes(sb.ToString()));
        Console.WriteLine(sb.ToString());
        Console.WriteLine($"Wrote {Path.GetFullPath(path)}");
        return 0;
    }

    /// <summary>
    /// One gradient step per configuration: ODE-Net and RK-Net at rk4 with 16 and 48 steps and at dopri5 1e-3, ResNet
    /// at 6 and 12 blocks, the MLP once.
    /// </summary>
    public static List<MemoryRow> MeasureMemory(int batch, Action<string>? log = null)
    {
        var rows = new List<MemoryRow>();
        var rng = new Random(7);
        var images = new float[batch * 784];
        for (int i = 0; i < images.Length; i++) images[i] = (float)rng.NextDouble();
        var labels = new byte[batch];
        for (int i = 0; i < batch; i++) labels[i] = (byte)(i % 10);
        SolveOptions<float> Rk4(int steps) => new() { Method = Methods.Rk4, FixedStep = 1f / steps };
        var configs = new List<(string Model, string Setting, Func<MnistClassifier<float>> Build)>
        {
            ("MLP", "-", () => new MnistClassifier<float>(ModelKind.Mlp, batch)),
            ("ResNet", "6 blocks", () => new MnistClassifier<float>(ModelKind.ResNet, batch, resNetBlocks: 6)),
            ("ResNet", "12 blocks", () => new MnistClassifier<float>(ModelKind.ResNet, batch, resNetBlocks: 12)),
        };
        foreach (var kind in new[] { ModelKind.RkNet, ModelKind.OdeNet })
        {
            string name = kind == ModelKind.RkNet ? "RK-Net" : "ODE-Net";
            // Backprop keeps every step's stages in the solver's dense output, allocated in chunks of 16, 32, 64 … steps,
            // so 16 and 48 steps fill one and two chunks exactly.
            configs.Add((name, "rk4, 16 steps", () => new MnistClassifier<float>(kind, batch, Rk4(16))));
            configs.Add((name, "rk4, 48 steps", () => new MnistClassifier<float>(kind, batch, Rk4(48))));
            configs.Add((name, "dopri5, tol 1e-3", () => new MnistClassifier<float>(kind, batch)));
        }
        // Warm-up (JIT, static tables) on the smallest configurations of each kind, not measured.
        foreach (var k in new[] { ModelKind.Mlp, ModelKind.ResNet, ModelKind.OdeNet, ModelKind.RkNet })
        {
            var c = new MnistClassifier<float>(k, 2, Rk4(1), resNetBlocks: 1);
            c.Run(images.AsSpan(0, 2 * 784), labels.AsSpan(0, 2), new float[c.ParameterCount]);
        }
        foreach (var (model, setting, build) in configs)
        {
            GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
            long baseline = GC.GetTotalMemory(true);
            using var sampler = new PeakSampler();
            var classifier = build();
            var gradient = new float[classifier.ParameterCount];
            long afterBuild = GC.GetTotalMemory(true);
            // Exact live heap at the probe points (a full collection there), besides the sampler's view of the garbage too.
            classifier.Probe = () => sampler.Observe(GC.GetTotalMemory(true));
            var r = classifier.Run(images, labels, gradient);
            long peak = sampler.Stop();
            rows.Add(new MemoryRow(model, setting, peak - baseline, Math.Max(0, peak - afterBuild), r.NfeForward, r.NfeBackward));
            log?.Invoke($"{model,-8} {setting,-18} peak {(peak - baseline) / 1e6,8:F1} MB, step {Math.Max(0, peak - afterBuild) / 1e6,8:F1} MB, NFE {r.NfeForward}/{r.NfeBackward}");
            GC.KeepAlive(classifier);
        }
        return rows;
    }

    /// <summary>Largest <see cref="GC.GetTotalMemory(bool)"/> seen by a 1 kHz sampler thread (and at <see cref="Stop"/>).</summary>
    private sealed class PeakSampler : IDisposable
    {
        private readonly Thread _thread;
        private volatile bool _stop;
        private long _peak;

        public PeakSampler()
        {
            _peak = GC.GetTotalMemory(false);
            _thread = new Thread(() =>
            {
                while (!_stop)
                {
                    long now = GC.GetTotalMemory(false);
                    if (now > Interlocked.Read(ref _peak)) Interlocked.Exchange(ref _peak, now);
                    Thread.Sleep(1);
                }
            }) { IsBackground = true };
            _thread.Start();
        }

        public void Observe(long bytes)
        {
            if (bytes > Interlocked.Read(ref _peak)) Interlocked.Exchange(ref _peak, bytes);
        }

        public long Stop()
        {
            long now = GC.GetTotalMemory(false);
            _stop = true;
            _thread.Join();
            return Math.Max(now, Interlocked.Read(ref _peak));
        }

        public void Dispose() { if (!_stop) Stop(); }
    }
}
