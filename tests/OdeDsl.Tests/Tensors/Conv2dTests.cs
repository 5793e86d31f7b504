using System.Numerics;
using OdeDsl.Tensors;

namespace OdeDsl.Tests.Tensors;

public class Conv2dTests
{
    public static readonly Conv2dShape[] Shapes =
    [
        new(2, 3, 5, 6, 4, 3, 3, 1, 1),   // same-size 3×3
        new(1, 2, 7, 7, 3, 3, 3, 2, 0),   // stride 2, no padding
        new(3, 4, 4, 5, 2, 1, 1, 1, 0),   // 1×1 (pure channel mix)
        new(2, 2, 5, 4, 3, 2, 3, 1, 2),   // non-square kernel, padding wider than the kernel reach
        new(1, 5, 6, 6, 6, 3, 3, 1, 1),   // ODE-Net geometry, few channels
        new(2, 3, 8, 9, 2, 4, 4, 3, 1),   // stride 3 with padding
        new(5, 2, 8, 8, 3, 3, 3, 1, 1),   // 8×8 output: 4 samples per GEMM, then a group of one
    ];

    public static IEnumerable<object[]> Cases() => Enumerable.Range(0, Shapes.Length).Select(i => new object[] { i });

    /// <summary>Direct seven-loop convolution (cross-correlation with zero padding), in double.</summary>
    private static double[] Reference<T>(in Conv2dShape s, T[] x, T[] w, T[]? bias) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = new double[s.OutputLength];
        for (int b = 0; b < s.Batch; b++)
        for (int co = 0; co < s.OutChannels; co++)
        for (int oy = 0; oy < s.OutHeight; oy++)
        for (int ox = 0; ox < s.OutWidth; ox++)
        {
            double sum = bias is null ? 0 : double.CreateChecked(bias[co]);
            for (int ci = 0; ci < s.InChannels; ci++)
            for (int ky = 0; ky < s.KernelHeight; ky++)
            for (int kx = 0; kx < s.KernelWidth; kx++)
            {
                int iy = oy * s.Stride - s.Padding + ky, ix = ox * s.Stride - s.Padding + kx;
                if (iy < 0 || iy >= s.Height || ix < 0 || ix >= s.Width) continue;
                sum += double.CreateChecked(x[((b * s.InChannels + ci) * s.Height + iy) * s.Width + ix])
                     * double.CreateChecked(w[((co * s.InChannels + ci) * s.KernelHeight + ky) * s.KernelWidth + kx]);
            }
            y[((b * s.OutChannels + co) * s.OutHeight + oy) * s.OutWidth + ox] = sum;
        }
        return y;
    }

    [Theory, MemberData(nameof(Cases))]
    public void ForwardMatchesDirectLoops(int index)
    {
        var s = Shapes[index];
        Check<float>(s, 1e-5);
        Check<double>(s, 1e-13);

        static void Check<T>(Conv2dShape s, double tol) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var x = TensorTestData.Random<T>(s.InputLength, 1);
            var w = TensorTestData.Random<T>(s.WeightLength, 2);
            var bias = TensorTestData.Random<T>(s.OutChannels, 3);
            var y = new T[s.OutputLength];
            y.AsSpan().Fill(T.NaN); // output is written, never read
            var scratch = new T[s.ScratchLength];
            Conv2d.Forward<T>(s, x, w, bias, y, scratch);
            TensorTestData.AssertClose<T>(Reference(s, x, w, bias), y, tol, $"conv {s} with bias");
            Conv2d.Forward<T>(s, x, w, ReadOnlySpan<T>.Empty, y, scratch);
            TensorTestData.AssertClose<T>(Reference(s, x, w, null), y, tol, $"conv {s} without bias");
        }
    }

    [Theory, MemberData(nameof(Cases))]
    public void BackwardInputIsTheAdjoint(int index)
    {
        // ⟨conv(x), g⟩ = ⟨x, convᵀ(g)⟩ for the bias-free (linear) convolution.
        var s = Shapes[index];
        var x = TensorTestData.Random<double>(s.InputLength, 4);
        var w = TensorTestData.Random<double>(s.WeightLength, 5);
        var g = TensorTestData.Random<double>(s.OutputLength, 6);
        var y = new double[s.OutputLength];
        var gx = new double[s.InputLength];
        gx.AsSpan().Fill(double.NaN); // written, not accumulated
        var scratch = new double[s.ScratchLength];
        Conv2d.Forward<double>(s, x, w, ReadOnlySpan<double>.Empty, y, scratch);
        Conv2d.BackwardInput<double>(s, g, w, gx, scratch);
        double lhs = TensorTestData.Dot<double>(y, g), rhs = TensorTestData.Dot<double>(x, gx);
        Assert.Equal(lhs, rhs, 1e-11 * (1 + Math.Abs(lhs)));
    }

    [Theory, MemberData(nameof(Cases))]
    public void BackwardWeightAccumulatesTheWeightAndBiasGradients(int index)
    {
        // conv is linear in w, so ∂⟨conv(x; w), g⟩/∂w applied to any direction v equals ⟨conv(x; v), g⟩;
        // the bias gradient is Σ g per output channel. Both are added to what the buffers already hold.
        var s = Shapes[index];
        var x = TensorTestData.Random<double>(s.InputLength, 7);
        var g = TensorTestData.Random<double>(s.OutputLength, 8);
        var v = TensorTestData.Random<double>(s.WeightLength, 9);
        var scratch = new double[s.ScratchLength];
        var gw = Enumerable.Repeat(0.5, s.WeightLength).ToArray();
        var gb = Enumerable.Repeat(-1.0, s.OutChannels).ToArray();
        Conv2d.BackwardWeight<double>(s, x, g, gw, gb, scratch);

        var y = new double[s.OutputLength];
        Conv2d.Forward<double>(s, x, v, ReadOnlySpan<double>.Empty, y, scratch);
        double expected = TensorTestData.Dot<double>(y, g) + 0.5 * v.Sum();
        Assert.Equal(expected, TensorTestData.Dot<double>(gw, v), 1e-11 * (1 + Math.Abs(expected)));

        int spatial = s.OutHeight * s.OutWidth;
        for (int co = 0; co < s.OutChannels; co++)
        {
            double sum = -1;
            for (int b = 0; b < s.Batch; b++)
                for (int p = 0; p < spatial; p++) sum += g[(b * s.OutChannels + co) * spatial + p];
            Assert.Equal(sum, gb[co], 1e-12);
        }

        // Float agrees with double, and an empty gradBias is allowed.
        var gwf = new float[s.WeightLength];
        Conv2d.BackwardWeight<float>(s, x.Select(d => (float)d).ToArray(), g.Select(d => (float)d).ToArray(), gwf,
            Span<float>.Empty, new float[s.ScratchLength]);
        var gwd = new double[s.WeightLength];
        Conv2d.BackwardWeight<double>(s, x, g, gwd, Span<double>.Empty, scratch);
        TensorTestData.AssertClose<float>(gwd, gwf, 1e-5, "float weight gradient");
    }

    [Fact]
    public void BackwardWeightMatchesFiniteDifferences()
    {
        // Nonlinear check through the public API: L = ½‖conv(x; w) + b‖², dL/dw by central differences.
        var s = Shapes[0];
        var x = TensorTestData.Random<double>(s.InputLength, 10);
        var w = TensorTestData.Random<double>(s.WeightLength, 11);
        var bias = TensorTestData.Random<double>(s.OutChannels, 12);
        var scratch = new double[s.ScratchLength];
        var y = new double[s.OutputLength];
        double Loss()
        {
            Conv2d.Forward<double>(s, x, w, bias, y, scratch);
            return 0.5 * TensorTestData.Dot<double>(y, y);
        }
        Loss();
        var gy = (double[])y.Clone();
        var gw = new double[s.WeightLength]; var gb = new double[s.OutChannels]; var gx = new double[s.InputLength];
        Conv2d.BackwardWeight<double>(s, x, gy, gw, gb, scratch);
        Conv2d.BackwardInput<double>(s, gy, w, gx, scratch);
        const double h = 1e-6;
        foreach (var (param, grad) in new[] { (w, gw), (bias, gb), (x, gx) })
        {
            for (int i = 0; i < param.Length; i += Math.Max(1, param.Length / 13))
            {
                double keep = param[i];
                param[i] = keep + h; double up = Loss();
                param[i] = keep - h; double down = Loss();
                param[i] = keep;
                Assert.Equal((up - down) / (2 * h), grad[i], 1e-6 * (1 + Math.Abs(grad[i])));
            }
        }
    }

    [Fact]
    public void InvalidGeometryAndShortSpansThrow()
    {
        var s = new Conv2dShape(1, 2, 4, 4, 3, 3, 3, 1, 1);
        var ok = new float[1000];
        Assert.Throws<ArgumentException>(() => Conv2d.Forward<float>(s, ok.AsSpan(0, s.InputLength - 1), ok, ReadOnlySpan<float>.Empty, ok, ok));
        Assert.Throws<ArgumentException>(() => Conv2d.Forward<float>(s, ok, ok, ok.AsSpan(0, 2), ok, ok));
        Assert.Throws<ArgumentException>(() => Conv2d.Forward<float>(s, ok, ok, ReadOnlySpan<float>.Empty, ok, ok.AsSpan(0, s.ScratchLength - 1)));
        var bad = s with { KernelHeight = 7 };
        Assert.Throws<ArgumentException>(() => Conv2d.Forward<float>(bad, ok, ok, ReadOnlySpan<float>.Empty, ok, ok));
        Assert.Throws<ArgumentException>(() => Conv2d.BackwardInput<float>(s with { Stride = 0 }, ok, ok, ok, ok));
    }

    [Fact]
    public void OdeNetSizeCallsDoNotAllocate()
    {
        var s = new Conv2dShape(4, 65, 6, 6, 64, 3, 3, 1, 1);
        var x = TensorTestData.Random<float>(s.InputLength, 1);
        var w = TensorTestData.Random<float>(s.WeightLength, 2);
        var bias = new float[s.OutChannels];
        var y = new float[s.OutputLength]; var gx = new float[s.InputLength]; var gw = new float[s.WeightLength];
        var scratch = new float[s.ScratchLength];
        void Run()
        {
            Conv2d.Forward<float>(s, x, w, bias, y, scratch);
            Conv2d.BackwardInput<float>(s, y, w, gx, scratch);
            Conv2d.BackwardWeight<float>(s, x, y, gw, bias, scratch);
        }
        AllocationAssert.NoneWithin(Run); // its GEMMs split across the thread pool
    }
}
