using System.Numerics;
using OdeDsl.Tensors;
using OdeDsl.Tests.Tensors;

namespace OdeDsl.Tests.ConvKernels;

/// <summary>
/// The fast paths of <see cref="Conv2d"/> against the paths they replace and against direct loops: the stride-1 im2col /
/// col2im on zero-padded planes (Im2Col's small paths), the two-thread split of a call's sample groups, and the weight
/// gradient summed as gradWᵀ = col·gradOutᵀ.
/// </summary>
[Collection(nameof(GemmGlobalSettings))] // switches TwoThreadLoop.Enabled on for the split tests
public class Conv2dPathTests
{
    // Stride 1 with output widths at the small path's edges (float: 4…8 lanes; double: 2…4), odd sizes, paddings 0–2.
    public static readonly Conv2dShape[] SmallShapes =
    [
        new(3, 3, 4, 4, 5, 3, 3, 1, 1),   // ow 4: the narrowest float width, 2·ow = lanes
        new(2, 2, 3, 7, 3, 3, 1, 1, 0),   // 3×1 kernel, ow 7, oh 1
        new(2, 4, 9, 6, 3, 2, 3, 1, 2),   // padding wider than the kernel reach, ow 8 (a full vector)
        new(9, 5, 6, 6, 7, 3, 3, 1, 1),   // ODE-Net geometry, two groups (7 + 2 samples)
        new(2, 3, 5, 3, 2, 3, 3, 1, 1),   // ow 3: the generic path for float, the small one for double
        new(1, 1, 12, 8, 4, 5, 3, 1, 0),  // tall input, ow 6, no padding
    ];

    public static IEnumerable<object[]> SmallCases() => Enumerable.Range(0, SmallShapes.Length).Select(i => new object[] { i });

    [Theory, MemberData(nameof(SmallCases))]
    public void SmallStrideOnePathsMatchTheGenericOnesBitForBit(int index)
    {
        Check<float>(SmallShapes[index]);
        Check<double>(SmallShapes[index]);

        static void Check<T>(Conv2dShape s) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var x = TensorTestData.Random<T>(s.InputLength, 1);
            var w = TensorTestData.Random<T>(s.WeightLength, 2);
            var bias = TensorTestData.Random<T>(s.OutChannels, 3);
            var g = TensorTestData.Random<T>(s.OutputLength, 4);
            var (y1, gx1, gw1, gb1) = ConvPaths.Run(s, x, w, bias, g, smallPathsOff: false);
            var (y0, gx0, gw0, gb0) = ConvPaths.Run(s, x, w, bias, g, smallPathsOff: true);
            Assert.Equal(y0, y1);
            Assert.Equal(gx0, gx1);
            Assert.Equal(gw0, gw1);
            Assert.Equal(gb0, gb1);
            // And against the direct seven loops, so that both paths are checked, not only each other.
            TensorTestData.AssertClose<T>(DirectForward(s, x, w, bias), y1, typeof(T) == typeof(float) ? 1e-5 : 1e-13, $"conv {s}");
        }
    }

    [Theory, MemberData(nameof(SmallCases))]
    public void SmallPathsKeepTheAdjointIdentityAndTheCallersNeighbours(int index)
    {
        // ⟨conv(x), g⟩ = ⟨x, convᵀ(g)⟩, with the gradient written into the middle of a larger buffer whose other
        // elements must survive (the full-width vector stores may not reach past the sample).
        var s = SmallShapes[index];
        var x = TensorTestData.Random<float>(s.InputLength, 5);
        var w = TensorTestData.Random<float>(s.WeightLength, 6);
        var g = TensorTestData.Random<float>(s.OutputLength, 7);
        var y = new float[s.OutputLength];
        var scratch = new float[s.ScratchLength + 64];
        scratch.AsSpan().Fill(float.NaN);
        Conv2d.Forward<float>(s, x, w, ReadOnlySpan<float>.Empty, y, scratch);
        var padded = new float[s.InputLength + 32];
        padded.AsSpan().Fill(7f);
        Conv2d.BackwardInput<float>(s, g, w, padded.AsSpan(16, s.InputLength), scratch);
        Assert.All(padded[..16], v => Assert.Equal(7f, v));
        Assert.All(padded[(16 + s.InputLength)..], v => Assert.Equal(7f, v));
        double lhs = TensorTestData.Dot<float>(y, g), rhs = TensorTestData.Dot<float>(x, padded.AsSpan(16, s.InputLength));
        Assert.Equal(lhs, rhs, 1e-4 * (1 + Math.Abs(lhs)));
    }

    // Calls big enough to split (≥ 2²¹ multiply-adds, ≥ 2 groups): the ODE block at batch 16, a downsampling layer at batch 20.
    public static readonly Conv2dShape[] SplitShapes =
    [
        new(16, 65, 6, 6, 64, 3, 3, 1, 1),
        new(20, 64, 13, 13, 64, 4, 4, 2, 1),
    ];

    [Fact]
    public void TwoThreadSplitMatchesOneThread()
    {
        bool enabled = TwoThreadLoop.Enabled;
        TwoThreadLoop.Enabled = true; // also on a one-core machine, where it is off by default
        try
        {
            foreach (var s in SplitShapes)
            {
                var x = TensorTestData.Random<float>(s.InputLength, 8);
                var w = TensorTestData.Random<float>(s.WeightLength, 9, 0.1);
                var bias = TensorTestData.Random<float>(s.OutChannels, 10);
                var g = TensorTestData.Random<float>(s.OutputLength, 11);
                int before = Conv2dSplit<float>.SplitCalls;
                var split = ConvPaths.Run(s, x, w, bias, g, smallPathsOff: false);
                Assert.Equal(before + 3, Conv2dSplit<float>.SplitCalls); // all three kernels took the split
                var again = ConvPaths.Run(s, x, w, bias, g, smallPathsOff: false);
                GemmParallel.SuppressedOnThisThread = true; // one thread, as inside a chunk of the solver
                (float[], float[], float[], float[]) serial;
                try { serial = ConvPaths.Run(s, x, w, bias, g, smallPathsOff: false); }
                finally { GemmParallel.SuppressedOnThisThread = false; }
                Assert.Equal(before + 6, Conv2dSplit<float>.SplitCalls);

                // Forward and the input gradient: each sample's arithmetic is the same on either thread.
                Assert.Equal(serial.Item1, split.Item1);
                Assert.Equal(serial.Item2, split.Item2);
                // The weight and bias sums add the two halves separately: equal to rounding, and repeatable bit for bit.
                TensorTestData.AssertClose<float>(serial.Item3.Select(v => (double)v).ToArray(), split.Item3, 1e-5, $"gradW {s}");
                TensorTestData.AssertClose<float>(serial.Item4.Select(v => (double)v).ToArray(), split.Item4, 1e-5, $"gradBias {s}");
                Assert.Equal(split.Item3, again.Item3);
                Assert.Equal(split.Item4, again.Item4);
                TensorTestData.AssertClose<float>(DirectForward(s, x, w, bias), split.Item1, 1e-4, $"conv {s}");
            }
        }
        finally { TwoThreadLoop.Enabled = enabled; }
    }

    [Theory]
    [InlineData(9, 3, 7, 5, 4, 3, 2, 2, 1)]   // patch 18 ≥ 4 outputs: the sums kept transposed
    [InlineData(3, 1, 9, 9, 12, 2, 2, 1, 0)]  // patch 4 < 12 outputs: kept as gradW (the 1 → 64 first layer's case)
    public void WeightGradientMatchesDirectLoopsAndAccumulates(int batch, int cin, int h, int w, int cout, int kh, int kw, int stride, int pad)
    {
        // gradW[co, ci, ky, kx] = Σ_b,oy,ox g[b, co, oy, ox]·x[b, ci, iy, ix], added to what gradW holds; no bias buffer.
        var s = new Conv2dShape(batch, cin, h, w, cout, kh, kw, stride, pad);
        Assert.Equal(batch == 9, Conv2d.SumsTransposed(s));
        var x = TensorTestData.Random<double>(s.InputLength, 12);
        var g = TensorTestData.Random<double>(s.OutputLength, 13);
        var gw = Enumerable.Repeat(0.25, s.WeightLength).ToArray();
        Conv2d.BackwardWeight<double>(s, x, g, gw, Span<double>.Empty, new double[s.ScratchLength]);
        var expected = new double[s.WeightLength];
        for (int co = 0; co < s.OutChannels; co++)
        for (int ci = 0; ci < s.InChannels; ci++)
        for (int ky = 0; ky < s.KernelHeight; ky++)
        for (int kx = 0; kx < s.KernelWidth; kx++)
        {
            double sum = 0.25;
            for (int b = 0; b < s.Batch; b++)
            for (int oy = 0; oy < s.OutHeight; oy++)
            for (int ox = 0; ox < s.OutWidth; ox++)
            {
                int iy = oy * s.Stride - s.Padding + ky, ix = ox * s.Stride - s.Padding + kx;
                if (iy < 0 || iy >= s.Height || ix < 0 || ix >= s.Width) continue;
                sum += g[((b * s.OutChannels + co) * s.OutHeight + oy) * s.OutWidth + ox] * x[((b * s.InChannels + ci) * s.Height + iy) * s.Width + ix];
            }
            expected[((co * s.InChannels + ci) * s.KernelHeight + ky) * s.KernelWidth + kx] = sum;
        }
        TensorTestData.AssertClose<double>(expected, gw, 1e-12, "gradW");
    }

    [Fact]
    public void SplitCallsDoNotAllocate()
    {
        bool enabled = TwoThreadLoop.Enabled;
        TwoThreadLoop.Enabled = true;
        try
        {
            var s = SplitShapes[0];
            var x = TensorTestData.Random<float>(s.InputLength, 1);
            var w = TensorTestData.Random<float>(s.WeightLength, 2);
            var bias = new float[s.OutChannels];
            var y = new float[s.OutputLength]; var gx = new float[s.InputLength]; var gw = new float[s.WeightLength];
            var scratch = new float[s.ScratchLength];
            AllocationAssert.NoneWithin(() =>
            {
                Conv2d.Forward<float>(s, x, w, bias, y, scratch);
                Conv2d.BackwardInput<float>(s, y, w, gx, scratch);
                Conv2d.BackwardWeight<float>(s, x, y, gw, bias, scratch);
            });
        }
        finally { TwoThreadLoop.Enabled = enabled; }
    }

    private static double[] DirectForward<T>(in Conv2dShape s, T[] x, T[] w, T[] bias) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var y = new double[s.OutputLength];
        for (int b = 0; b < s.Batch; b++)
        for (int co = 0; co < s.OutChannels; co++)
        for (int oy = 0; oy < s.OutHeight; oy++)
        for (int ox = 0; ox < s.OutWidth; ox++)
        {
            double sum = double.CreateChecked(bias[co]);
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
}
