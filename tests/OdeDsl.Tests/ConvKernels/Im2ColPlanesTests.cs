using System.Runtime.Intrinsics.X86;
using OdeDsl.Tensors;
using OdeDsl.Tests.Tensors;

namespace OdeDsl.Tests.ConvKernels;

/// <summary>
/// Im2Col's float AVX-512 path (Im2ColPlanes: stride 1 or 2 through a padded plane; the ODE block's 6×6 maps take
/// Im2ColSame, tested in Im2ColSameTests, and other narrow stride-1 rows the Vector256 small path, tested in Conv2dPathTests) against its generic path, bit for bit, im2col and col2im alone and inside whole convolutions;
/// with guard elements around what they write.
/// </summary>
public class Im2ColPlanesTests
{
    // (batch, Cin, H, W, Cout, kh, kw, stride, pad): the downsampling's layers, odd sizes, rows wider than one and two
    // vectors, a multiple of 16, one output column, paddings 0–3, non-square kernels.
    public static readonly Conv2dShape[] Shapes =
    [
        new(3, 4, 26, 26, 5, 4, 4, 2, 1),   // the downsampling's second layer (ow 13)
        new(3, 4, 13, 13, 5, 4, 4, 2, 1),   // its third (ow 6)
        new(2, 1, 28, 28, 6, 3, 3, 1, 0),   // its first (stride 1, ow 26)
        new(2, 3, 35, 33, 4, 3, 2, 2, 2),   // stride 2, ow 18: a full vector and a tail
        new(2, 2, 16, 32, 3, 1, 1, 1, 0),   // ow 32: two full vectors, no tail
        new(2, 3, 9, 17, 2, 5, 3, 1, 3),    // padding 3, ow 21
        new(2, 2, 7, 5, 3, 7, 5, 2, 1),     // kernel as large as the padded input: one output row and column
        new(1, 2, 11, 2, 3, 3, 3, 2, 1),    // ow 1
        new(2, 2, 8, 8, 3, 3, 3, 1, 1),     // ow 8: the small Vector256 path for float (kept), compared all the same
        new(2, 3, 5, 9, 2, 2, 3, 1, 0),     // ow 7, stride 1, no padding
    ];

    public static IEnumerable<object[]> Cases() => Enumerable.Range(0, Shapes.Length).Select(i => new object[] { i });

    [Theory, MemberData(nameof(Cases))]
    public void Im2ColAndCol2ImMatchTheGenericPathBitForBit(int index)
    {
        if (!Avx512F.IsSupported) return; // the paths exist only there
        var s = Shapes[index] with { Batch = 1 };
        int cols = s.OutSpatial, ld = cols + 5, rows = s.PatchSize, guard = 40;
        var x = TensorTestData.Random<float>(s.InputLength, 11);
        var col = TensorTestData.Random<float>(rows * ld, 12);

        var cs = col.AsSpan(0, (rows - 1) * ld + cols);
        var fast = ConvPaths.Gather(s, x, ld, guard, smallPathsOff: false);
        Assert.Equal(ConvPaths.Gather(s, x, ld, guard, smallPathsOff: true), fast); // guards and the gaps between rows included: nothing else is written
        Assert.Equal(ConvPaths.Scatter(s, cs, ld, guard, smallPathsOff: true), ConvPaths.Scatter(s, cs, ld, guard, smallPathsOff: false));
        // The gaps between the rows (ld > OutSpatial) are not touched.
        for (int r = 0; r < rows - 1; r++)
            Assert.All(fast.AsSpan(guard + r * ld + cols, ld - cols).ToArray(), v => Assert.Equal(-3f, v));
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
        // Adjoint identity ⟨conv(x), g⟩ = ⟨x, convᵀ(g)⟩ (without bias), so the generic path is checked too.
        var y0 = new float[s.OutputLength];
        Conv2d.Forward<float>(s, x, w, ReadOnlySpan<float>.Empty, y0, new float[s.ScratchLength]);
        double lhs = TensorTestData.Dot<float>(y0, g), rhs = TensorTestData.Dot<float>(x, fast.GradX);
        Assert.Equal(lhs, rhs, 1e-4 * (1 + Math.Abs(lhs)));
    }
}
