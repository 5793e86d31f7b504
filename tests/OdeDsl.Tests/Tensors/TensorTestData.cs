using System.Numerics;

namespace OdeDsl.Tests.Tensors;

/// <summary>Seeded random data and reductions shared by the tensor kernel tests.</summary>
internal static class TensorTestData
{
    public static T[] Random<T>(int length, int seed, double scale = 1.0) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(seed);
        var data = new T[length];
        for (int i = 0; i < length; i++) data[i] = T.CreateChecked((rng.NextDouble() * 2 - 1) * scale);
        return data;
    }

    public static double Dot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Assert.Equal(a.Length, b.Length);
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += double.CreateChecked(a[i]) * double.CreateChecked(b[i]);
        return sum;
    }

    public static double MaxAbs<T>(ReadOnlySpan<T> a) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double max = 0;
        foreach (var v in a) max = Math.Max(max, Math.Abs(double.CreateChecked(v)));
        return max;
    }

    /// <summary>Asserts |actual − expected| ≤ tol·(1 + |expected|) element-wise, naming the first bad index.</summary>
    public static void AssertClose<T>(ReadOnlySpan<double> expected, ReadOnlySpan<T> actual, double tol, string what)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double a = double.CreateChecked(actual[i]), e = expected[i];
            if (!(Math.Abs(a - e) <= tol * (1 + Math.Abs(e))))
                Assert.Fail($"{what}: element {i} is {a}, expected {e} (tolerance {tol}).");
        }
    }
}
