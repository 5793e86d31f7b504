using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Runtime.Intrinsics;
using OdeDsl.Tensors;

namespace OdeDsl.Bench.Commands;

/// <summary>
/// <c>spiral-ops [--batches B] [--rows 20,100,200,1024]</c>: stopwatch timing of each kernel call the generated spiral
/// field's Evaluate makes (2 → 50 → 2, f(h) = W2·tanh(W1·h³ + b1) + b2), float and double, at each row count. The
/// calls and shapes are the generated code's: h·h and ·h (Elementwise.Multiply over rows·2), W1·h³ (Gemm, transB,
/// k = 2), + b1 (AddRowVector, 50 columns), tanh (rows·50), W2·z (Gemm, transB, n = 2, k = 50), + b2 (AddRowVector,
/// 2 columns). Every case is warmed up, then the cases of one (type, rows) are timed round-robin in B batches of
/// calls (about 20 µs of work each), so that on a shared machine they see the same load. One JSON line per case: the
/// minimum per-call time over the batches (the figure to quote) and the median. Run with DOTNET_TieredCompilation=0.
/// The reverse sweep's calls (VectorJacobianProduct, all accumulating, β = 1) follow the forward ones: a10 += a11·W2
/// (Gemm, k = 2), gradW2 += a11ᵀ·f10 (Gemm, Aᵀ, m = 2, k = rows), TanhBackwardAdd (rows·50), the bias gradients
/// (AccumulateColumnSums, 50 and 2 columns), a7 += a8·W1 (Gemm, n = 2, k = 50, B not transposed) and
/// gradW1 += a8ᵀ·f7 (Gemm, Aᵀ, m = 50, n = 2, k = rows). Accumulated outputs grow without bound over the repeats,
/// which does not change the timing (no denormals: they grow, not shrink).
/// </summary>
public static class SpiralOpsCommand
{
    public static Command Create()
    {
        var batches = new Option<int>("--batches") { Description = "Timed batches per case.", DefaultValueFactory = _ => 200 };
        var rows = new Option<string>("--rows") { Description = "Comma-separated row counts.", DefaultValueFactory = _ => "20,100,200,1024" };
        var command = new Command("spiral-ops", "Min-of-batches timing of each kernel call in the spiral field's Evaluate.") { batches, rows };
        command.SetAction(pr =>
        {
            var counts = pr.GetValue(rows)!.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
            Console.Error.WriteLine($"Vector512 accelerated: {Vector512.IsHardwareAccelerated}, Vector<float>.Count = {Vector<float>.Count}, " +
                                    $"tiered compilation: {Environment.GetEnvironmentVariable("DOTNET_TieredCompilation") ?? "default"}");
            foreach (int m in counts) Run<float>(m, pr.GetValue(batches));
            foreach (int m in counts) Run<double>(m, pr.GetValue(batches));
            return 0;
        });
        return command;
    }

    private static void Run<T>(int m, int batches) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int hidden = 50, state = 2;
        var rng = new Random(m);
        T[] Rand(int n, double scale) => Enumerable.Range(0, n).Select(_ => T.CreateChecked((rng.NextDouble() * 2 - 1) * scale)).ToArray();
        var theta = Rand(252, 0.7);
        var w1 = theta.AsMemory(0, 100); var b1 = theta.AsMemory(100, 50);
        var w2 = theta.AsMemory(150, 100); var b2 = theta.AsMemory(250, 2);
        var h = Rand(m * state, 2);
        T[] sq = new T[m * state], cube = new T[m * state], pre = new T[m * hidden], z = new T[m * hidden], act = new T[m * hidden];
        T[] o = new T[m * state], dh = new T[m * state];
        var a11 = Rand(m * state, 1); var a8 = Rand(m * hidden, 1);
        T[] a10 = new T[m * hidden], a9 = new T[m * hidden], a7 = new T[m * state], grad = new T[252];
        Elementwise.Multiply<T>(h, h, sq);
        Elementwise.Multiply<T>(sq, h, cube);
        Gemm.Multiply(false, true, m, hidden, state, T.One, cube, state, w1.Span, state, T.Zero, pre, hidden);
        RowOps.AddRowVector<T>(m, hidden, pre, b1.Span, z);
        Activations.Tanh<T>(z, act);
        (string Name, Action Body)[] cases =
        [
            ("mul h*h", () => Elementwise.Multiply<T>(h, h, sq)),
            ("mul (h*h)*h", () => Elementwise.Multiply<T>(sq, h, cube)),
            ("gemm k=2 (W1)", () => Gemm.Multiply(false, true, m, hidden, state, T.One, cube, state, w1.Span, state, T.Zero, pre, hidden)),
            ("addrow cols=50", () => RowOps.AddRowVector<T>(m, hidden, pre, b1.Span, z)),
            ("tanh", () => Activations.Tanh<T>(z, act)),
            ("gemm n=2 k=50 (W2)", () => Gemm.Multiply(false, true, m, state, hidden, T.One, act, hidden, w2.Span, hidden, T.Zero, o, state)),
            ("addrow cols=2", () => RowOps.AddRowVector<T>(m, state, o, b2.Span, dh)),
            ("vjp colsums cols=2 (b2)", () => RowOps.AccumulateColumnSums<T>(m, state, a11, grad.AsSpan(250, 2))),
            ("vjp gemm k=2 (a11*W2)", () => Gemm.Multiply(false, false, m, hidden, state, T.One, a11, state, w2.Span, hidden, T.One, a10, hidden)),
            ("vjp gemm At m=2 (gW2)", () => Gemm.Multiply(true, false, state, hidden, m, T.One, a11, state, act, hidden, T.One, grad.AsSpan(150, 100), hidden)),
            ("vjp tanh backward add", () => Activations.TanhBackwardAdd<T>(act, a10, a9)),
            ("vjp colsums cols=50 (b1)", () => RowOps.AccumulateColumnSums<T>(m, hidden, a8, grad.AsSpan(100, 50))),
            ("vjp gemm n=2 k=50 (a8*W1)", () => Gemm.Multiply(false, false, m, state, hidden, T.One, a8, hidden, w1.Span, state, T.One, a7, state)),
            ("vjp gemm At n=2 (gW1)", () => Gemm.Multiply(true, false, hidden, state, m, T.One, a8, hidden, cube, state, T.One, grad.AsSpan(0, 100), state)),
        ];
        var perBatch = new int[cases.Length];
        for (int c = 0; c < cases.Length; c++)
        {
            for (int i = 0; i < 2000; i++) cases[c].Body();
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < 200; i++) cases[c].Body();
            double us = Stopwatch.GetElapsedTime(t0).TotalMicroseconds / 200;
            perBatch[c] = (int)Math.Clamp(20 / Math.Max(us, 1e-3), 5, 2000);
        }
        var perCall = new double[cases.Length][];
        for (int c = 0; c < cases.Length; c++) perCall[c] = new double[batches];
        for (int b = 0; b < batches; b++)
            for (int c = 0; c < cases.Length; c++)
            {
                var body = cases[c].Body;
                int n = perBatch[c];
                long t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < n; i++) body();
                perCall[c][b] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds / n;
            }
        string type = typeof(T) == typeof(float) ? "float" : "double";
        for (int c = 0; c < cases.Length; c++)
        {
            Array.Sort(perCall[c]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"op\":\"{cases[c].Name}\",\"type\":\"{type}\",\"rows\":{m},\"min_us\":{perCall[c][0]:F4},\"median_us\":{perCall[c][batches / 2]:F4}}}"));
        }
    }
}
