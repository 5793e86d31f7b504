using OdeDsl.Training;

namespace OdeDsl.Tests;

public class RngTests
{
    [Fact]
    public void SameSeedSameSequence_DifferentSeedDifferent()
    {
        var a = new Rng(42); var b = new Rng(42); var c = new Rng(43);
        for (int i = 0; i < 100; i++) Assert.Equal(a.NextUInt64(), b.NextUInt64());
        Assert.NotEqual(new Rng(42).NextUInt64(), c.NextUInt64());
    }

    [Fact]
    public void UniformAndGaussianMomentsAreRight()
    {
        var r = new Rng(1);
        double s = 0, s2 = 0, g = 0, g2 = 0; const int n = 200_000;
        for (int i = 0; i < n; i++) { double u = r.NextDouble(); s += u; s2 += u * u; double z = r.NextGaussian(); g += z; g2 += z * z; }
        Assert.InRange(s / n, 0.495, 0.505);
        Assert.InRange(s2 / n - (s / n) * (s / n), 1.0 / 12 - 0.002, 1.0 / 12 + 0.002);
        Assert.InRange(g / n, -0.01, 0.01);
        Assert.InRange(g2 / n, 0.98, 1.02);
    }
}
