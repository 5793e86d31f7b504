using System.Runtime.Intrinsics.X86;
using OdeDsl.Tensors;
using OdeDsl.Tests.Tensors;

namespace OdeDsl.Tests.ConvKernels;

/// <summary>
/// Im2Col's float AVX-512 path for "same" convolutions (Im2ColSame: stride 1, kernel 2·pad + 1, one masked load per 16
/// outputs) against the generic path, bit for bit: im2col and col2im alone, with guard elements and gaps between the
/// column rows, and inside whole convolutions (forward, input and weight gradients).
/// </summary>
public class Im2ColSameTests
{
    // (batch, Cin, H, W, Cout, k, k, 1, pad): the ODE block's 65→64 3×3 on 6×6, a plane that is a multiple of 16, a
    // tail of one lane, non-square maps, a kernel larger than the map, 1×1, and 13×13 (11 chunks).
    public static readonly Conv2dShape[] Shapes =
    [
        new(3, 65, 6, 6, 8, 3, 3, 1, 1),
        new(2, 3, 4, 4, 5, 3, 3, 1, 1),
        new(2, 2, 1, 17, 3, 3, 3, 1, 1),
        new(2, 3, 5, 3, 4, 3, 3, 1, 1),
        new(2, 2, 7, 7, 3, 5, 5, 1, 2),
        new(2, 2, 2, 2, 3, 5, 5, 1, 2),
        new(2, 4, 6, 6, 3, 1, 1, 1, 0),
        new(2, 3, 13, 13, 4, 3, 3, 1, 1),
    ];

    public static IEnumerable<object[]> Cases() => Enumerable.Range(0, Shapes.Length).Select(i => new object[] { i });

    public static IEnumerable<object[]> CasesAndGaps() =>
        Enumerable.Range(0, Shapes.Length).SelectMany(i => new[] { new object[] { i, 5 }, new object[] { i, 40 } });

    // A gap of 5 between the column rows is narrower than the shifted windows' overhang (masked loads throughout); one of
    // 40 is wider, so col2im reads whole windows in every row but the first and the last.
    [Theory, MemberData(nameof(CasesAndGaps))]
    public void Im2ColAndCol2ImMatchTheGenericPathBitForBit(int index, int gap)
    {
        if (!Avx512F.IsSupported) return; // the path exists only there
        var s = Shapes[index] with { Batch = 1 };
        Assert.True(Im2ColSame.Applies(s));
        int cols = s.OutSpatial, ld = cols + gap, rows = s.PatchSize, guard = 40;
        // The input sits between guards of other values, so a tap read outside the plane would show.
        var xg = TensorTestData.Random<float>(s.InputLength + 2 * guard, 11);
        var x = xg.AsSpan(guard, s.InputLength).ToArray();
        var col = TensorTestData.Random<float>(rows * ld + 2 * guard, 12);

        var xs = xg.AsSpan(guard, s.InputLength);
        var cs = col.AsSpan(guard, (rows - 1) * ld + cols);
        var fast = ConvPaths.Gather(s, xs, ld, guard, smallPathsOff: false);
        Assert.Equal(ConvPaths.Gather(s, xs, ld, guard, smallPathsOff: true), fast); // guards and the gaps between rows included: nothing else is written
        for (int r = 0; r < rows - 1; r++)
            Assert.All(fast.AsSpan(guard + r * ld + cols, ld - cols).ToArray(), v => Assert.Equal(-3f, v));
        Assert.Equal(ConvPaths.Scatter(s, cs, ld, guard, smallPathsOff: true), ConvPaths.Scatter(s, cs, ld, guard, smallPathsOff: false));
        // And against the definition: col[(ci, ky, kx), (y, x)] = x[ci, y + ky − pad, x + kx − pad] or 0.
        int k = s.KernelHeight, p = s.Padding, h = s.Height, w = s.Width;
        for (int ci = 0; ci < s.InChannels; ci++)
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++)
                    for (int y = 0; y < h; y++)
                        for (int xx = 0; xx < w; xx++)
                        {
                            int iy = y + ky - p, ix = xx + kx - p;
                            float want = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[(ci * h + iy) * w + ix] : 0f;
                            Assert.Equal(want, fast[guard + ((ci * k + ky) * k + kx) * ld + y * w + xx]);
                        }
    }

    [Theory, MemberData(nameof(Cases))]
    public void ConvolutionsMatchTheGenericPathBitForBit(int index)
    {
        var s = Shapes[index];
        var x = TensorTestData.Random<float>(s.InputLength, 1);
        var w = TensorTestData.Random<float>(s.WeightLength, 2);
        var bias = TensorTestData.Random<float>(s.OutChannels, 3);
        var g = TensorTestData.Random<float>(s.OutputLength, 4);
        var fast = ConvPaths.Run(s, x, w, bias, g, smallPathsOff: false);
        var generic = ConvPaths.Run(s, x, w, bias, g, smallPathsOff: true);
        Assert.Equal(generic.Y, fast.Y);
        Assert.Equal(generic.GradX, fast.GradX);
        Assert.Equal(generic.GradW, fast.GradW);
        Assert.Equal(generic.GradB, fast.GradB);
    }

    [Fact]
    public void OtherGeometriesDoNotTakeThePath()
    {
        Assert.False(Im2ColSame.Applies(new Conv2dShape(1, 2, 6, 6, 3, 3, 3, 2, 1)));   // stride 2
        Assert.False(Im2ColSame.Applies(new Conv2dShape(1, 2, 6, 6, 3, 3, 3, 1, 0)));   // valid, not same
        Assert.False(Im2ColSame.Applies(new Conv2dShape(1, 2, 6, 6, 3, 3, 1, 1, 1)));   // non-square kernel
        Assert.False(Im2ColSame.Applies(new Conv2dShape(1, 2, 64, 64, 3, 3, 3, 1, 1))); // more masks than the table keeps
    }
}
