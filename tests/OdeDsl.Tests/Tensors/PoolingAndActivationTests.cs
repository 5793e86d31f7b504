using OdeDsl.Tensors;

namespace OdeDsl.Tests.Tensors;

public class PoolingAndActivationTests
{
    [Theory]
    [InlineData(2, 3, 6, 6, 2, 2)]
    [InlineData(1, 2, 7, 5, 3, 2)]
    [InlineData(2, 1, 4, 4, 4, 1)]
    public void AvgPoolMatchesReferenceAndBackwardIsItsAdjoint(int batch, int channels, int height, int width, int kernel, int stride)
    {
        int oh = (height - kernel) / stride + 1, ow = (width - kernel) / stride + 1;
        var x = TensorTestData.Random<double>(batch * channels * height * width, 1);
        var y = new double[batch * channels * oh * ow];
        Pooling.AvgPool2d<double>(batch, channels, height, width, kernel, stride, x, y);
        var expected = new double[y.Length];
        for (int p = 0; p < batch * channels; p++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    double sum = 0;
                    for (int ky = 0; ky < kernel; ky++)
                        for (int kx = 0; kx < kernel; kx++)
                            sum += x[(p * height + oy * stride + ky) * width + ox * stride + kx];
                    expected[(p * oh + oy) * ow + ox] = sum / (kernel * kernel);
                }
        TensorTestData.AssertClose<double>(expected, y, 1e-14, "avg pool");

        var g = TensorTestData.Random<double>(y.Length, 2);
        var gx = new double[x.Length];
        gx.AsSpan().Fill(double.NaN);
        Pooling.AvgPool2dBackward<double>(batch, channels, height, width, kernel, stride, g, gx);
        Assert.Equal(TensorTestData.Dot<double>(y, g), TensorTestData.Dot<double>(x, gx), 1e-12);
    }

    [Fact]
    public void GlobalAvgPoolAveragesEachPlaneAndBackwardIsItsAdjoint()
    {
        const int b = 3, c = 4, s = 10;
        var x = TensorTestData.Random<float>(b * c * s, 3);
        var y = new float[b * c];
        Pooling.GlobalAvgPool<float>(b, c, s, x, y);
        for (int p = 0; p < b * c; p++) Assert.Equal(x.Skip(p * s).Take(s).Average(), y[p], 1e-6f);
        var g = TensorTestData.Random<float>(b * c, 4);
        var gx = new float[x.Length];
        Pooling.GlobalAvgPoolBackward<float>(b, c, s, g, gx);
        Assert.Equal(TensorTestData.Dot<float>(y, g), TensorTestData.Dot<float>(x, gx), 1e-5);
        Assert.Throws<ArgumentException>(() => Pooling.GlobalAvgPool<float>(b, c, s, x.AsSpan(1), y));
        Assert.Throws<ArgumentException>(() => Pooling.AvgPool2d<float>(1, 1, 2, 2, 3, 1, x, y));
    }

    [Fact]
    public void ActivationsAndTheirBackwardRules()
    {
        double[] x = [-2, -0.5, 0, 0.3, 1.7];
        var y = new double[x.Length]; var gx = new double[x.Length];
        double[] gy = [1, 2, 3, 4, 5];
        Activations.Tanh<double>(x, y);
        Activations.TanhBackward<double>(y, gy, gx);
        for (int i = 0; i < x.Length; i++)
        {
            Assert.Equal(Math.Tanh(x[i]), y[i], 1e-15);
            Assert.Equal(gy[i] / (Math.Cosh(x[i]) * Math.Cosh(x[i])), gx[i], 1e-14);
        }
        Activations.Sigmoid<double>(x, y);
        Activations.SigmoidBackward<double>(y, gy, gx);
        for (int i = 0; i < x.Length; i++)
        {
            double s = 1 / (1 + Math.Exp(-x[i]));
            Assert.Equal(s, y[i], 1e-15);
            Assert.Equal(gy[i] * s * (1 - s), gx[i], 1e-15);
        }
        Activations.Relu<double>(x, y);
        Activations.ReluBackward<double>(x, gy, gx);
        Assert.Equal([0, 0, 0, 0.3, 1.7], y);
        Assert.Equal([0, 0, 0, 4, 5], gx);
        Assert.Throws<ArgumentException>(() => Activations.ReluBackward<double>(x, gy.AsSpan(1), gx));
    }

    [Fact]
    public void BackwardRulesAgreeWithTheirFormulasOverVectorAndTailElements()
    {
        var x = TensorTestData.Random<float>(37, 5, scale: 3);
        var g = TensorTestData.Random<float>(37, 6);
        var y = new float[37]; var gx = new float[37];
        Activations.Sigmoid<float>(x, y);
        Activations.SigmoidBackward<float>(y, g, gx);
        for (int i = 0; i < 37; i++) Assert.Equal(g[i] * y[i] * (1 - y[i]), gx[i], 1e-7f);
        Activations.Tanh<float>(x, y);
        Activations.TanhBackward<float>(y, g, gx);
        for (int i = 0; i < 37; i++) Assert.Equal(g[i] * (1 - y[i] * y[i]), gx[i], 1e-7f);
        Activations.ReluBackward<float>(x, g, gx);
        for (int i = 0; i < 37; i++) Assert.Equal(x[i] > 0 ? g[i] : 0f, gx[i]);
    }
}

public class FastTanhTests
{
    /// <summary>Distance in float ulps between a float and the correctly rounded value of a double.</summary>
    private static double Ulps(float actual, double exact)
    {
        float rounded = (float)exact;
        if (actual == rounded) return 0;
        double ulp = Math.Abs((double)MathF.BitIncrement(Math.Abs(rounded)) - Math.Abs(rounded));
        return Math.Abs(actual - exact) / ulp;
    }

    [Fact]
    public void FloatTanhIsWithinAFewUlpsEverywhere()
    {
        // A dense sweep over [−12, 12], both sides of the 0.3 and 10 switch points, tiny and subnormal inputs.
        var xs = new List<float>();
        for (int i = -240_000; i <= 240_000; i++) xs.Add(i * 5e-5f);
        foreach (float c in new[] { 0.3f, 10f })
            for (int k = -50; k <= 50; k++) { float v = c; for (int s = 0; s < Math.Abs(k); s++) v = k < 0 ? MathF.BitDecrement(v) : MathF.BitIncrement(v); xs.Add(v); xs.Add(-v); }
        xs.AddRange([1e-30f, -1e-30f, 1e-45f, 1e-8f, 0.299999f, 25f, -25f, 88f, float.MaxValue, float.MinValue]);
        var x = xs.ToArray();
        var y = new float[x.Length];
        Activations.Tanh<float>(x, y);
        double worst = 0; float at = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double u = Ulps(y[i], Math.Tanh(x[i]));
            if (u > worst) (worst, at) = (u, x[i]);
        }
        Assert.True(worst <= 3, $"worst error {worst:F2} ulp at x = {at:R}");
    }

    [Fact]
    public void SpecialValuesAndTails()
    {
        float[] x = [0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 0.5f, -3f];
        var y = new float[x.Length];
        Activations.Tanh<float>(x, y);   // 7 elements: all in the padded tail path at either width
        Assert.Equal(0f, y[0]); Assert.False(float.IsNegative(y[0]));
        Assert.True(float.IsNegative(y[1]) && y[1] == 0f);
        Assert.Equal(1f, y[2]); Assert.Equal(-1f, y[3]); Assert.True(float.IsNaN(y[4]));
        Assert.Equal((float)Math.Tanh(0.5), y[5], 1e-7f);
        Assert.Equal((float)Math.Tanh(-3.0), y[6], 1e-7f);
        // In place over a length that is not a multiple of the vector width.
        var z = Enumerable.Range(0, 37).Select(i => (i - 18) * 0.37f).ToArray();
        var expected = z.Select(v => (float)Math.Tanh(v)).ToArray();
        Activations.Tanh<float>(z, z);
        for (int i = 0; i < z.Length; i++) Assert.Equal(expected[i], z[i], 2e-7f);
    }
}

public class RowOpsTests
{
    [Theory]
    [InlineData(5, 2)]
    [InlineData(3, 50)]
    [InlineData(1, 7)]
    public void AddRowVectorAndColumnSums(int rows, int cols)
    {
        var x = TensorTestData.Random<double>(rows * cols, 1);
        var v = TensorTestData.Random<double>(cols, 2);
        var y = new double[rows * cols];
        RowOps.AddRowVector<double>(rows, cols, x, v, y);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) Assert.Equal(x[i * cols + j] + v[j], y[i * cols + j]);

        var sum = Enumerable.Repeat(1.0, cols).ToArray(); // accumulated onto 1
        RowOps.AccumulateColumnSums<double>(rows, cols, x, sum);
        for (int j = 0; j < cols; j++)
        {
            double s = 1;
            for (int i = 0; i < rows; i++) s += x[i * cols + j];
            Assert.Equal(s, sum[j], 1e-12);
        }

        RowOps.AddRowVector<double>(rows, cols, y, v, y); // in place
        Assert.Equal(x[0] + 2 * v[0], y[0], 1e-15);
        Assert.Throws<ArgumentException>(() => RowOps.AddRowVector<double>(rows, cols, x, v.AsSpan(1), y));
        Assert.Throws<ArgumentException>(() => RowOps.AccumulateColumnSums<double>(rows + 1, cols, x, sum));
    }
}
