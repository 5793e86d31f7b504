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
}
