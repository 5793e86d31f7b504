using OdeDsl.Tensors;

namespace OdeDsl.Tests.Tensors;

/// <summary>The whole-block kernels generated code calls: each against its scalar formula, over vector bodies and tails.</summary>
public class ElementwiseTests
{
    private const int N = 37; // not a multiple of any vector width

    private static (double[] X, double[] Y, double[] G, double[] Acc) Data()
    {
        var x = TensorTestData.Random<double>(N, 1, scale: 2);
        var y = TensorTestData.Random<double>(N, 2, scale: 2);
        for (int i = 0; i < N; i++) y[i] += y[i] >= 0 ? 0.5 : -0.5; // away from zero for division
        return (x, y, TensorTestData.Random<double>(N, 3), TensorTestData.Random<double>(N, 4));
    }

    [Fact]
    public void BinaryOperationsWithBlocksAndScalarsOnEitherSide()
    {
        var (x, y, _, _) = Data();
        var z = new double[N];
        const double s = 1.75;
        void Check(Func<int, double> expected, string what)
        {
            for (int i = 0; i < N; i++) Assert.True(expected(i) == z[i], $"{what}: element {i} is {z[i]}, expected {expected(i)}");
        }
        Elementwise.Add<double>(x, y, z); Check(i => x[i] + y[i], "x + y");
        Elementwise.Add<double>(x, s, z); Check(i => x[i] + s, "x + s");
        Elementwise.Add<double>(s, y, z); Check(i => s + y[i], "s + y");
        Elementwise.Subtract<double>(x, y, z); Check(i => x[i] - y[i], "x − y");
        Elementwise.Subtract<double>(x, s, z); Check(i => x[i] - s, "x − s");
        Elementwise.Subtract<double>(s, y, z); Check(i => s - y[i], "s − y");
        Elementwise.Multiply<double>(x, y, z); Check(i => x[i] * y[i], "x·y");
        Elementwise.Multiply<double>(x, s, z); Check(i => x[i] * s, "x·s");
        Elementwise.Multiply<double>(s, y, z); Check(i => s * y[i], "s·y");
        Elementwise.Divide<double>(x, y, z); Check(i => x[i] / y[i], "x / y");
        Elementwise.Divide<double>(x, s, z); Check(i => x[i] / s, "x / s");
        Elementwise.Divide<double>(s, y, z); Check(i => s / y[i], "s / y");
        Elementwise.Negate<double>(x, z); Check(i => -x[i], "−x");
        Elementwise.Square<double>(x, z); Check(i => x[i] * x[i], "x²");
        Elementwise.Pow<double>(x, 3, z); Check(i => x[i] * x[i] * x[i], "x³");
        Elementwise.Pow<double>(x, 1, z); Check(i => x[i], "x¹");
        Elementwise.Abs<double>(x, z); Check(i => Math.Abs(x[i]), "|x|");
        Elementwise.Pow<double>(z, 1.5, z); // in place, general exponent
        for (int i = 0; i < N; i++) Assert.Equal(Math.Pow(Math.Abs(x[i]), 1.5), z[i], 1e-14);
        Elementwise.Exp<double>(x, z);
        for (int i = 0; i < N; i++) Assert.Equal(Math.Exp(x[i]), z[i], 1e-14 * Math.Exp(x[i]));
        Elementwise.Log<double>(z, z);
        for (int i = 0; i < N; i++) Assert.Equal(x[i], z[i], 1e-14);
        Elementwise.Sqrt<double>(y.Select(Math.Abs).ToArray(), z);
        for (int i = 0; i < N; i++) Assert.Equal(Math.Sqrt(Math.Abs(y[i])), z[i], 1e-15);
        Assert.Throws<ArgumentException>(() => Elementwise.Add<double>(x, y.AsSpan(1), z));
    }

    [Fact]
    public void AccumulatingFormsAddIntoTheirTarget()
    {
        var (x, y, g, acc0) = Data();
        var acc = (double[])acc0.Clone();
        Elementwise.AddTo<double>(g, acc);
        for (int i = 0; i < N; i++) Assert.Equal(acc0[i] + g[i], acc[i]);
        acc = (double[])acc0.Clone();
        Elementwise.SubtractFrom<double>(g, acc);
        for (int i = 0; i < N; i++) Assert.Equal(acc0[i] - g[i], acc[i]);
        acc = (double[])acc0.Clone();
        Elementwise.MultiplyAddTo<double>(g, y, acc);
        for (int i = 0; i < N; i++) Assert.Equal(acc0[i] + g[i] * y[i], acc[i]);
        acc = (double[])acc0.Clone();
        Elementwise.MultiplyAddTo<double>(g, 0.25, acc);
        for (int i = 0; i < N; i++) Assert.Equal(acc0[i] + g[i] * 0.25, acc[i]);
        acc = (double[])acc0.Clone();
        Elementwise.DivideAddTo<double>(g, y, acc);
        for (int i = 0; i < N; i++) Assert.Equal(acc0[i] + g[i] / y[i], acc[i]);
        Assert.Equal(g.Sum(), Elementwise.Sum<double>(g), 1e-14);
        Assert.Equal(TensorTestData.Dot<double>(g, y), Elementwise.Dot<double>(g, y), 1e-14);
        Assert.Throws<ArgumentException>(() => Elementwise.DivideAddTo<double>(g, y.AsSpan(1), acc));
    }

    [Theory]
    [InlineData(2.0)]
    [InlineData(3.0)]
    [InlineData(1.5)]
    public void PowBackwardIsTheChainRuleWrittenOrAccumulated(double c)
    {
        var (x, _, g, acc0) = Data();
        var ax = x.Select(Math.Abs).ToArray(); // a fractional power needs x ≥ 0
        var d = new double[N];
        Elementwise.PowBackward<double>(ax, c, g, d, accumulate: false);
        for (int i = 0; i < N; i++) Assert.Equal(c * Math.Pow(ax[i], c - 1) * g[i], d[i], 1e-14);
        var acc = (double[])acc0.Clone();
        Elementwise.PowBackward<double>(ax, c, g, acc, accumulate: true);
        for (int i = 0; i < N; i++) Assert.Equal(acc0[i] + c * Math.Pow(ax[i], c - 1) * g[i], acc[i], 1e-14);
    }

    [Fact]
    public void ActivationBackwardAddFormsAccumulate()
    {
        var (x, _, g, acc0) = Data();
        var y = new double[N];
        var written = new double[N];
        void Check(string what)
        {
            for (int i = 0; i < N; i++) Assert.True(acc0[i] + written[i] == y[i], $"{what}: element {i}");
        }
        var t = new double[N];
        Activations.Tanh<double>(x, t);
        Activations.TanhBackward<double>(t, g, written);
        acc0.CopyTo(y); Activations.TanhBackwardAdd<double>(t, g, y); Check("tanh");
        Activations.Sigmoid<double>(x, t);
        Activations.SigmoidBackward<double>(t, g, written);
        acc0.CopyTo(y); Activations.SigmoidBackwardAdd<double>(t, g, y); Check("sigmoid");
        Activations.ReluBackward<double>(x, g, written);
        acc0.CopyTo(y); Activations.ReluBackwardAdd<double>(x, g, y); Check("relu");
        Assert.Throws<ArgumentException>(() => Activations.TanhBackwardAdd<double>(t, g.AsSpan(1), y));
    }
}

public class FastTanhDoubleTests
{
    private static double Ulps(double actual, double exact)
    {
        if (actual == exact) return 0;
        double ulp = Math.BitIncrement(Math.Abs(exact)) - Math.Abs(exact);
        return Math.Abs(actual - exact) / ulp;
    }

    [Fact]
    public void DoubleTanhIsWithinAFewUlpsOfMathTanh()
    {
        var xs = new List<double>();
        for (int i = -200_000; i <= 200_000; i++) xs.Add(i * 1.3e-4);       // [−26, 26]
        for (int i = 1; i <= 2000; i++) { xs.Add(i * 1e-9); xs.Add(-i * 3.7e-6); }
        xs.AddRange([1e-300, -1e-300, double.Epsilon, 1e-17, 0.34657359, 19.9, 20, 20.1, 700, double.MaxValue, double.MinValue]);
        var x = xs.ToArray();
        var y = new double[x.Length];
        Activations.Tanh<double>(x, y);
        double worst = 0, at = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double u = Ulps(y[i], Math.Tanh(x[i]));
            if (u > worst) (worst, at) = (u, x[i]);
        }
        Assert.True(worst <= 4, $"worst error {worst:F2} ulp at x = {at:R}");
    }

    [Fact]
    public void DoubleSpecialValuesAndTails()
    {
        double[] x = [0, -0.0, double.PositiveInfinity, double.NegativeInfinity, double.NaN];
        var y = new double[x.Length];
        Activations.Tanh<double>(x, y); // 5 elements: one vector and a padded tail at 256 bits, all tail at 512
        Assert.Equal(0.0, y[0]); Assert.False(double.IsNegative(y[0]));
        Assert.True(double.IsNegative(y[1]) && y[1] == 0);
        Assert.Equal(1.0, y[2]); Assert.Equal(-1.0, y[3]); Assert.True(double.IsNaN(y[4]));
    }
}

public class RowBlockTests
{
    [Theory]
    [InlineData(4, 1)]
    [InlineData(3, 9)]
    public void CopyFillAndAddStridedWindows(int rows, int cols)
    {
        int ldSrc = cols + 2, ldDst = cols + 3;
        var src = TensorTestData.Random<double>((rows - 1) * ldSrc + cols, 1);
        var dst = TensorTestData.Random<double>((rows - 1) * ldDst + cols + 1, 2);
        var before = (double[])dst.Clone();
        RowOps.CopyBlock<double>(rows, cols, src, ldSrc, dst, ldDst);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) Assert.Equal(src[i * ldSrc + j], dst[i * ldDst + j]);
        Assert.Equal(before[cols], dst[cols]); // the gap after each row's window is untouched

        RowOps.AddBlock<double>(rows, cols, src, ldSrc, dst, ldDst);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) Assert.Equal(2 * src[i * ldSrc + j], dst[i * ldDst + j]);

        RowOps.FillBlock<double>(rows, cols, 0.0, dst, ldDst);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) Assert.Equal(0.0, dst[i * ldDst + j]);

        // stride 0: one row broadcast into every row, and every row summed into one
        var v = TensorTestData.Random<double>(cols, 3);
        RowOps.CopyBlock<double>(rows, cols, v, 0, dst, ldDst);
        Assert.Equal(v[cols - 1], dst[(rows - 1) * ldDst + cols - 1]);
        var sum = new double[cols];
        RowOps.AddBlock<double>(rows, cols, src, ldSrc, sum, 0);
        for (int j = 0; j < cols; j++)
        {
            double s = 0;
            for (int i = 0; i < rows; i++) s += src[i * ldSrc + j];
            Assert.Equal(s, sum[j], 1e-14);
        }
        Assert.Throws<ArgumentException>(() => RowOps.CopyBlock<double>(rows, cols, src.AsSpan(1), ldSrc, dst, ldDst));
        Assert.Throws<ArgumentException>(() => RowOps.AddBlock<double>(rows, cols, src, ldSrc, dst.AsSpan(0, cols), ldDst));
    }

    [Fact]
    public void AddRowVectorOfEmptyBlocksAndOfHalfs()
    {
        RowOps.AddRowVector<double>(5, 0, [], [], []); // zero-width rows: nothing to do (once a division by zero)
        RowOps.AddRowVector<double>(0, 7, [], new double[7], []);
        Half[] x = [(Half)1, (Half)2, (Half)3, (Half)4], v = [(Half)0.5, (Half)(-1)], y = new Half[4];
        RowOps.AddRowVector<Half>(2, 2, x, v, y); // no Vector<Half>: the scalar loop (once NotSupportedException)
        Assert.Equal(new[] { (Half)1.5, (Half)1, (Half)3.5, (Half)3 }, y);
    }
}
