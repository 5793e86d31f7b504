using System.CommandLine;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.Intrinsics;
using OdeDsl.Tensors;

namespace OdeDsl.Bench.Commands;

/// <summary>
/// <c>tanh-timing [--length N] [--batches B]</c>: stopwatch timing of the tanh forward and backward kernels, float and
/// double, over N elements (default 51,200: the spiral field's [1024, 50] hidden layer). Activations.Tanh /
/// TanhBackward(Add) as dispatched, each width's forward kernel called directly, and the backward as a Vector&lt;T&gt;
/// loop (what TanhBackwardAdd ran before it had a Vector512 path). All kernels are warmed up, then timed round-robin in
/// B batches of 20 calls, so that on a shared machine every kernel sees the same load; the minimum per-call time over
/// the batches is the figure to quote (the median is printed too).
/// </summary>
public static class TanhTimingCommand
{
    public static Command Create()
    {
        var length = new Option<int>("--length") { Description = "Elements per call.", DefaultValueFactory = _ => 51200 };
        var batches = new Option<int>("--batches") { Description = "Timed batches of 20 calls per kernel.", DefaultValueFactory = _ => 300 };
        var command = new Command("tanh-timing", "Min-of-batches stopwatch timing of the tanh forward and backward kernels.") { length, batches };
        command.SetAction(pr =>
        {
            Run(pr.GetValue(length), pr.GetValue(batches));
            return 0;
        });
        return command;
    }

    private static void Run(int n, int batches)
    {
        Console.WriteLine($"n = {n}, Vector512 accelerated: {Vector512.IsHardwareAccelerated}, Vector256: {Vector256.IsHardwareAccelerated}, " +
                          $"Vector<float>.Count = {Vector<float>.Count}, Activations.Tanh kernel: {Activations.FastTanhBits} bits");
        var rng = new Random(1);
        var xf = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 6 - 3)).ToArray(); // uniform on [−3, 3]
        var xd = xf.Select(v => (double)v).ToArray();
        var gf = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var gd = gf.Select(v => (double)v).ToArray();
        float[] yf = new float[n], af = new float[n];
        double[] yd = new double[n], ad = new double[n];
        Activations.Tanh<float>(xf, yf);
        Activations.Tanh<double>(xd, yd);
        (string Name, Action Body)[] kernels =
        [
            ("Activations.Tanh<float>", () => Activations.Tanh<float>(xf, yf)),
            ("FastTanh (256) float", () => FastTanh.Apply(xf, yf)),
            ("FastTanh512 float", () => FastTanh512.Apply(xf, yf)),
            ("Activations.Tanh<double>", () => Activations.Tanh<double>(xd, yd)),
            ("FastTanh (256) double", () => FastTanh.Apply(xd, yd)),
            ("FastTanh512 double", () => FastTanh512.Apply(xd, yd)),
            ("TanhBackward<float>", () => Activations.TanhBackward<float>(yf, gf, af)),
            ("TanhBackwardAdd<float>", () => Activations.TanhBackwardAdd<float>(yf, gf, af)),
            ("Vector<T> backward-add float", () => VectorTBackwardAdd<float>(yf, gf, af)),
            ("TanhBackward<double>", () => Activations.TanhBackward<double>(yd, gd, ad)),
            ("TanhBackwardAdd<double>", () => Activations.TanhBackwardAdd<double>(yd, gd, ad)),
            ("Vector<T> backward-add double", () => VectorTBackwardAdd<double>(yd, gd, ad)),
        ];
        const int perBatch = 20;
        foreach (var (_, body) in kernels)
            for (int i = 0; i < 1000; i++) body(); // past tiered compilation's rejit
        var perCall = new double[kernels.Length][];
        for (int k = 0; k < kernels.Length; k++) perCall[k] = new double[batches];
        for (int b = 0; b < batches; b++)
            for (int k = 0; k < kernels.Length; k++)
            {
                long t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < perBatch; i++) kernels[k].Body();
                perCall[k][b] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds / perBatch;
            }
        for (int k = 0; k < kernels.Length; k++)
        {
            Array.Sort(perCall[k]);
            Console.WriteLine($"{kernels[k].Name,-30} min {perCall[k][0],8:F2} µs   median {perCall[k][batches / 2],8:F2} µs");
        }
    }

    /// <summary>gradX += gradY·(1 − y²) on Vector&lt;T&gt; (256 bits here), the loop TanhBackwardAdd used before.</summary>
    private static void VectorTBackwardAdd<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> gradY, Span<T> gradX)
        where T : unmanaged, INumber<T>
    {
        var vy = System.Runtime.InteropServices.MemoryMarshal.Cast<T, Vector<T>>(y);
        var vg = System.Runtime.InteropServices.MemoryMarshal.Cast<T, Vector<T>>(gradY);
        var vx = System.Runtime.InteropServices.MemoryMarshal.Cast<T, Vector<T>>(gradX);
        for (int i = 0; i < vy.Length; i++) vx[i] += vg[i] * (Vector<T>.One - vy[i] * vy[i]);
        for (int i = vy.Length * Vector<T>.Count; i < y.Length; i++) gradX[i] += gradY[i] * (T.One - y[i] * y[i]);
    }
}
