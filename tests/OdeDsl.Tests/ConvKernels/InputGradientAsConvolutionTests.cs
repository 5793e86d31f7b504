using System.Numerics;
using OdeDsl.Tensors;
using OdeDsl.Tests.Tensors;

namespace OdeDsl.Tests.ConvKernels;

/// <summary>
/// Conv2d's input gradient of a "same" convolution computed as the forward convolution of gradOutput with the flipped,
/// channel-swapped kernel (<see cref="Conv2d.InputGradientAsConvolution"/>): against direct loops and against the
/// Wᵀ·gradOut + col2im path it replaces (same sums in another order: equal to rounding), float and double, one and two
/// threads; other geometries keep col2im.
/// </summary>
[Collection(nameof(GemmGlobalSettings))] // switches TwoThreadLoop.Enabled on for the split case
public class InputGradientAsConvolutionTests
{
    // (batch, Cin, H, W, Cout, k, k, 1, pad) with Cout ≤ Cin: the ODE block's 65 → 64 on 6×6 over two groups, equal
    // channels, 5×5 on a non-square map, a kernel larger than the map, 1×1.
    public static readonly Conv2dShape[] Shapes =
    [
        new(9, 65, 6, 6, 64, 3, 3, 1, 1),
        new(3, 4, 4, 4, 4, 3, 3, 1, 1),
        new(2, 5, 7, 5, 3, 5, 5, 1, 2),
        new(2, 3, 2, 3, 2, 5, 5, 1, 2),
        new(2, 3, 5, 5, 6, 1, 1, 1, 0),
    ];

    public static IEnumerable<object[]> Cases() => Enumerable.Range(0, Shapes.Length).Select(i => new object[] { i });

    [Theory, MemberData(nameof(Cases))]
    public void MatchesDirectLoopsAndTheCol2ImPath(int index)
    {
        var s = Shapes[index];
        Assert.True(Conv2d.InputGradientAsConvolution(s));
        Check<float>(s, 2e-5);
        Check<double>(s, 1e-12);

        static void Check<T>(Conv2dShape s, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var w = TensorTestData.Random<T>(s.WeightLength, 21, 0.2);
            var g = TensorTestData.Random<T>(s.OutputLength, 22);
            var viaConvolution = BackwardInput(s, g, w, byCol2Im: false);
            var viaCol2Im = BackwardInput(s, g, w, byCol2Im: true);
            var direct = DirectBackwardInput(s, g, w);
            TensorTestData.AssertClose<T>(direct, viaConvolution, tolerance, $"as convolution {s}");
            TensorTestData.AssertClose<T>(direct, viaCol2Im, tolerance, $"col2im {s}");
        }
    }

    [Fact]
    public void TwoThreadSplitMatchesOneThreadBitForBit()
    {
        bool enabled = TwoThreadLoop.Enabled;
        TwoThreadLoop.Enabled = true;
        try
        {
            var s = new Conv2dShape(128, 65, 6, 6, 64, 3, 3, 1, 1); // a whole ODE-Net batch: over the split threshold
            var w = TensorTestData.Random<float>(s.WeightLength, 23, 0.1);
            var g = TensorTestData.Random<float>(s.OutputLength, 24);
            int before = Conv2dSplit<float>.SplitCalls;
            var split = BackwardInput(s, g, w, byCol2Im: false);
            Assert.Equal(before + 1, Conv2dSplit<float>.SplitCalls);
            GemmParallel.SuppressedOnThisThread = true;
            float[] serial;
            try { serial = BackwardInput(s, g, w, byCol2Im: false); }
            finally { GemmParallel.SuppressedOnThisThread = false; }
            Assert.Equal(serial, split);
        }
        finally { TwoThreadLoop.Enabled = enabled; }
    }

    [Fact]
    public void OtherGeometriesKeepCol2Im()
    {
        Assert.False(Conv2d.InputGradientAsConvolution(new Conv2dShape(1, 4, 6, 6, 5, 3, 3, 1, 1)));   // Cout > Cin: scratch too small
        Assert.False(Conv2d.InputGradientAsConvolution(new Conv2dShape(1, 4, 6, 6, 4, 3, 3, 2, 1)));   // stride 2
        Assert.False(Conv2d.InputGradientAsConvolution(new Conv2dShape(1, 4, 6, 6, 4, 3, 3, 1, 0)));   // not same
        Assert.False(Conv2d.InputGradientAsConvolution(new Conv2dShape(1, 4, 6, 6, 4, 3, 1, 1, 1)));   // not square
    }

    private static T[] BackwardInput<T>(Conv2dShape s, T[] g, T[] w, bool byCol2Im) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var gx = new T[s.InputLength];
        gx.AsSpan().Fill(T.CreateChecked(7)); // written, not accumulated
        Conv2d.InputGradientByCol2Im = byCol2Im;
        try { Conv2d.BackwardInput<T>(s, g, w, gx, new T[s.ScratchLength]); }
        finally { Conv2d.InputGradientByCol2Im = false; }
        return gx;
    }

    private static double[] DirectBackwardInput<T>(in Conv2dShape s, T[] g, T[] w) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var gx = new double[s.InputLength];
        for (int b = 0; b < s.Batch; b++)
        for (int co = 0; co < s.OutChannels; co++)
        for (int oy = 0; oy < s.OutHeight; oy++)
        for (int ox = 0; ox < s.OutWidth; ox++)
        {
            double go = double.CreateChecked(g[((b * s.OutChannels + co) * s.OutHeight + oy) * s.OutWidth + ox]);
            for (int ci = 0; ci < s.InChannels; ci++)
            for (int ky = 0; ky < s.KernelHeight; ky++)
            for (int kx = 0; kx < s.KernelWidth; kx++)
            {
                int iy = oy - s.Padding + ky, ix = ox - s.Padding + kx;
                if (iy < 0 || iy >= s.Height || ix < 0 || ix >= s.Width) continue;
                gx[((b * s.InChannels + ci) * s.Height + iy) * s.Width + ix] +=
                    go * double.CreateChecked(w[((co * s.InChannels + ci) * s.KernelHeight + ky) * s.KernelWidth + kx]);
            }
        }
        return gx;
    }
}
