using OdeDsl.Tensors;

namespace OdeDsl.Tests.Tensors;

public class GroupNormTests
{
    // (batch, channels, spatial, groups): several groups, one group (layer norm), one channel per group (instance norm).
    public static IEnumerable<object[]> Cases() =>
    [
        [2, 6, 5, 3], [3, 4, 9, 1], [1, 5, 7, 5], [2, 8, 36, 4],
    ];

    private static double[] Reference(int batch, int channels, int spatial, int groups, double eps,
        double[] x, double[] gamma, double[] beta)
    {
        var y = new double[x.Length];
        int per = channels / groups, len = per * spatial;
        for (int b = 0; b < batch; b++)
            for (int g = 0; g < groups; g++)
            {
                int o = (b * groups + g) * len;
                double mean = 0; for (int i = 0; i < len; i++) mean += x[o + i];
                mean /= len;
                double v = 0; for (int i = 0; i < len; i++) v += (x[o + i] - mean) * (x[o + i] - mean);
                v /= len; // biased, as PyTorch
                for (int i = 0; i < len; i++)
                {
                    int c = g * per + i / spatial;
                    y[o + i] = (x[o + i] - mean) / Math.Sqrt(v + eps) * gamma[c] + beta[c];
                }
            }
        return y;
    }

    [Theory, MemberData(nameof(Cases))]
    public void ForwardMatchesReferenceAndSavesStats(int batch, int channels, int spatial, int groups)
    {
        int n = batch * channels * spatial;
        var x = TensorTestData.Random<double>(n, 1, scale: 3);
        for (int i = 0; i < n; i++) x[i] += 10; // an offset mean makes one-pass variance formulas visibly wrong
        var gamma = TensorTestData.Random<double>(channels, 2);
        var beta = TensorTestData.Random<double>(channels, 3);
        var expected = Reference(batch, channels, spatial, groups, 1e-5, x, gamma, beta);

        var y = new double[n]; var stats = new double[2 * batch * groups];
        GroupNorm.Forward<double>(batch, channels, spatial, groups, 1e-5, x, gamma, beta, y, stats);
        TensorTestData.AssertClose<double>(expected, y, 1e-12, "double group norm");
        double firstMean = 0;
        for (int i = 0; i < channels / groups * spatial; i++) firstMean += x[i];
        Assert.Equal(firstMean / (channels / groups * spatial), stats[0], 1e-12);

        var yf = new float[n]; var statsf = new float[2 * batch * groups];
        GroupNorm.Forward<float>(batch, channels, spatial, groups, 1e-5f, x.Select(v => (float)v).ToArray(),
            gamma.Select(v => (float)v).ToArray(), beta.Select(v => (float)v).ToArray(), yf, statsf);
        TensorTestData.AssertClose<float>(expected, yf, 2e-5, "float group norm");
    }

    [Theory, MemberData(nameof(Cases))]
    public void BackwardMatchesFiniteDifferences(int batch, int channels, int spatial, int groups)
    {
        // L = ⟨r, GroupNorm(x; γ, β)⟩ with a fixed random r; its gradients by central differences.
        int n = batch * channels * spatial;
        var x = TensorTestData.Random<double>(n, 4, scale: 2);
        var gamma = TensorTestData.Random<double>(channels, 5);
        var beta = TensorTestData.Random<double>(channels, 6);
        var r = TensorTestData.Random<double>(n, 7);
        var y = new double[n]; var stats = new double[2 * batch * groups];
        double Loss()
        {
            GroupNorm.Forward<double>(batch, channels, spatial, groups, 1e-5, x, gamma, beta, y, stats);
            return TensorTestData.Dot<double>(r, y);
        }
        Loss();
        var gx = new double[n];
        gx.AsSpan().Fill(double.NaN); // written
        var gg = Enumerable.Repeat(1.0, channels).ToArray(); // accumulated onto 1
        var gb = Enumerable.Repeat(2.0, channels).ToArray(); // accumulated onto 2
        GroupNorm.Backward<double>(batch, channels, spatial, groups, x, gamma, stats, r, gx, gg, gb);

        const double h = 1e-6;
        foreach (var (param, grad, offset) in new[] { (x, gx, 0.0), (gamma, gg, 1.0), (beta, gb, 2.0) })
        {
            for (int i = 0; i < param.Length; i++)
            {
                double keep = param[i];
                param[i] = keep + h; double up = Loss();
                param[i] = keep - h; double down = Loss();
                param[i] = keep;
                double fd = (up - down) / (2 * h);
                Assert.True(Math.Abs(fd + offset - grad[i]) <= 1e-7 * (1 + Math.Abs(fd)),
                    $"gradient {i}: analytic {grad[i] - offset}, finite difference {fd}");
            }
        }
    }

    [Theory, MemberData(nameof(Cases))]
    public void JvpMatchesFiniteDifferencesAndTransposesBackward(int batch, int channels, int spatial, int groups)
    {
        int n = batch * channels * spatial;
        var x = TensorTestData.Random<double>(n, 8, scale: 2);
        var gamma = TensorTestData.Random<double>(channels, 9);
        var beta = TensorTestData.Random<double>(channels, 10);
        var v = TensorTestData.Random<double>(n, 11);
        var stats = new double[2 * batch * groups];
        var y = new double[n];
        GroupNorm.Forward<double>(batch, channels, spatial, groups, 1e-5, x, gamma, beta, y, stats);
        var jvp = new double[n];
        GroupNorm.JacobianVectorProduct<double>(batch, channels, spatial, groups, x, gamma, stats, v, jvp);

        const double h = 1e-6;
        var xp = x.Zip(v, (a, b) => a + h * b).ToArray();
        var xm = x.Zip(v, (a, b) => a - h * b).ToArray();
        var yp = new double[n]; var ym = new double[n]; var scratchStats = new double[stats.Length];
        GroupNorm.Forward<double>(batch, channels, spatial, groups, 1e-5, xp, gamma, beta, yp, scratchStats);
        GroupNorm.Forward<double>(batch, channels, spatial, groups, 1e-5, xm, gamma, beta, ym, scratchStats);
        var fd = yp.Zip(ym, (a, b) => (a - b) / (2 * h)).ToArray();
        TensorTestData.AssertClose<double>(fd, jvp, 1e-7, "group norm JVP");

        // ⟨a, J v⟩ = ⟨Jᵀ a, v⟩
        var a = TensorTestData.Random<double>(n, 12);
        var gx = new double[n];
        GroupNorm.Backward<double>(batch, channels, spatial, groups, x, gamma, stats, a, gx, new double[channels], new double[channels]);
        double lhs = TensorTestData.Dot<double>(a, jvp), rhs = TensorTestData.Dot<double>(gx, v);
        Assert.Equal(lhs, rhs, 1e-12 * (1 + Math.Abs(lhs)));
    }

    [Fact]
    public void InvalidArgumentsThrow()
    {
        var buf = new float[64];
        var ex = Assert.Throws<ArgumentException>(() =>
            GroupNorm.Forward<float>(1, 6, 2, 4, 1e-5f, buf, buf, buf, buf, buf));
        Assert.Contains("divide channels", ex.Message);
        Assert.Throws<ArgumentException>(() => GroupNorm.Forward<float>(2, 4, 8, 2, 1e-5f, buf.AsSpan(0, 63), buf, buf, buf, buf));
        Assert.Throws<ArgumentException>(() => GroupNorm.Forward<float>(1, 4, 2, 2, 1e-5f, buf, buf, buf, buf, buf.AsSpan(0, 3)));
    }

    [Fact]
    public void CallsDoNotAllocate()
    {
        const int b = 8, c = 64, s = 36, g = 32;
        var x = TensorTestData.Random<float>(b * c * s, 1);
        var gamma = TensorTestData.Random<float>(c, 2);
        var y = new float[x.Length]; var gx = new float[x.Length]; var stats = new float[2 * b * g];
        var gg = new float[c]; var gb = new float[c];
        void Run()
        {
            GroupNorm.Forward<float>(b, c, s, g, 1e-5f, x, gamma, gamma, y, stats);
            GroupNorm.Backward<float>(b, c, s, g, x, gamma, stats, y, gx, gg, gb);
            GroupNorm.JacobianVectorProduct<float>(b, c, s, g, x, gamma, stats, y, gx);
        }
        AllocationAssert.NoneWithin(Run);
    }
}
