using System.Runtime.Intrinsics;
using OdeDsl.Tensors;

namespace OdeDsl.Tests.Tensors;

/// <summary>
/// The Vector512 tanh kernels, called directly so that they are tested on every machine (without AVX-512 the
/// runtime executes Vector512 in software, lane by lane, with the same IEEE results), and the dispatch that
/// Activations.Tanh makes on this machine. "dispatch" rows go through Activations, which on an AVX-512 machine is
/// the Vector512 kernel (checked by <see cref="TanhUsesTheWidestAcceleratedKernel"/>).
/// </summary>
public class FastTanh512Tests
{
    private delegate void FloatKernel(ReadOnlySpan<float> x, Span<float> y);
    private delegate void DoubleKernel(ReadOnlySpan<double> x, Span<double> y);

    private static FloatKernel Float(string kernel) => kernel switch
    {
        "512" => FastTanh512.Apply,
        "256" => FastTanh.Apply,
        _ => (x, y) => Activations.Tanh(x, y),
    };

    private static DoubleKernel Double(string kernel) => kernel switch
    {
        "512" => FastTanh512.Apply,
        "256" => FastTanh.Apply,
        _ => (x, y) => Activations.Tanh(x, y),
    };

    private static double FloatUlps(float actual, double exact)
    {
        float rounded = (float)exact;
        if (actual == rounded) return 0;
        double ulp = Math.Abs((double)MathF.BitIncrement(Math.Abs(rounded)) - Math.Abs(rounded));
        return Math.Abs(actual - exact) / ulp;
    }

    private static double DoubleUlps(double actual, double exact)
    {
        if (actual == exact) return 0;
        double ulp = Math.BitIncrement(Math.Abs(exact)) - Math.Abs(exact);
        return Math.Abs(actual - exact) / ulp;
    }

    private static float[] FloatSweep()
    {
        // [−12, 12] every 5e-5, ±50 float steps around the 0.3 and 10 switch points, and tiny/large values.
        var xs = new List<float>();
        for (int i = -240_000; i <= 240_000; i++) xs.Add(i * 5e-5f);
        foreach (float c in new[] { 0.3f, 10f })
        {
            float lo = c, hi = c;
            for (int k = 0; k < 50; k++) { lo = MathF.BitDecrement(lo); hi = MathF.BitIncrement(hi); xs.AddRange([lo, -lo, hi, -hi]); }
        }
        xs.AddRange([1e-30f, -1e-30f, float.Epsilon, -float.Epsilon, 1e-38f, 1e-8f, 25f, -25f, 88f, 1e20f, float.MaxValue, float.MinValue]);
        return [.. xs];
    }

    private static double[] DoubleSweep()
    {
        var xs = new List<double>();
        for (int i = -200_000; i <= 200_000; i++) xs.Add(i * 1.3e-4);       // [−26, 26]
        for (int i = 1; i <= 2000; i++) { xs.Add(i * 1e-9); xs.Add(-i * 3.7e-6); }
        xs.AddRange([1e-300, -1e-300, double.Epsilon, -double.Epsilon, 1e-17, 0.34657359, 19.9, 20, 20.1, 700, 1e300,
            double.MaxValue, double.MinValue]);
        return [.. xs];
    }

    [Fact]
    public void TanhUsesTheWidestAcceleratedKernel()
    {
        int expected = Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : 0;
        Assert.Equal(expected, Activations.FastTanhBits);
    }

    [Theory]
    [InlineData("512")]
    [InlineData("dispatch")]
    public void FloatDenseSweepIsWithinThreeUlpsOfMathTanh(string kernel)
    {
        var x = FloatSweep();
        var y = new float[x.Length];
        Float(kernel)(x, y);
        double worst = 0; float at = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double u = FloatUlps(y[i], Math.Tanh(x[i]));
            if (!(u <= worst)) (worst, at) = (u, x[i]); // a NaN result counts as the worst
        }
        Assert.True(worst <= 3, $"{kernel}: worst error {worst:F2} ulp at x = {at:R}");
    }

    /// <summary>
    /// Against Math.Tanh the bound is 5 ulps: the kernel's own error is at most 2.6 (next test) and Math.Tanh's is up to
    /// 2.1 near |x| ≈ 0.2–0.6, where the two can add up. This sweep covers the tails and the small inputs.
    /// </summary>
    [Theory]
    [InlineData("512")]
    [InlineData("dispatch")]
    public void DoubleDenseSweepIsWithinFiveUlpsOfMathTanh(string kernel)
    {
        var x = DoubleSweep();
        var y = new double[x.Length];
        Double(kernel)(x, y);
        double worst = 0, at = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double u = DoubleUlps(y[i], Math.Tanh(x[i]));
            if (!(u <= worst)) (worst, at) = (u, x[i]);
        }
        Assert.True(worst <= 5, $"{kernel}: worst error {worst:F2} ulp at x = {at:R}");
    }

    /// <summary>
    /// The double kernel within 2.6 ulps of tanh computed in decimal (≈ 1e-25 relative): every 10th point of [−26, 26] at
    /// a 1.3e-4 step and 20,000 random points on [−1.2, 1.2], where the range reduction's first steps (k = −1, −2, …) meet
    /// results just below 1/4 and 1/2. The worst seen on 600,000 points was 2.52 ulps. The Vector256 kernel gives the same
    /// bits (<see cref="Vector512KernelsAgreeBitwiseWithTheVector256Kernels"/>).
    /// </summary>
    [Fact]
    public void DoubleKernelIsWithinTwoPointSixUlpsOfAnAccurateTanh()
    {
        var rng = new Random(3);
        var xs = new List<double>();
        for (int i = -200_000; i <= 200_000; i += 10) xs.Add(i * 1.3e-4);
        for (int i = 0; i < 20_000; i++) xs.Add(rng.NextDouble() * 2.4 - 1.2);
        xs.RemoveAll(v => Math.Abs(v) < 1e-6);   // below, tanh x = x to the last bit (DoubleSpecialValues)
        double[] x = [.. xs], y = new double[x.Length];
        FastTanh512.Apply(x, y);
        double worst = 0, at = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double u = DecimalTanh.Ulps(y[i], x[i]);
            if (!(u <= worst)) (worst, at) = (u, x[i]);
        }
        Assert.True(worst <= 2.6, $"worst error {worst:F3} ulp at x = {at:R}");
    }

    [Theory]
    [InlineData(0.2, "0.197375320224904")]
    [InlineData(0.55, "0.500520211190235")]
    [InlineData(-3.0, "-0.995054753686730")]
    public void DecimalReferenceMatchesKnownValues(double x, string expected)
    {
        // tanh of these doubles to 15 digits (mpmath, 30 digits): checks the reference itself.
        Assert.Equal(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), Math.Round(DecimalTanh.Tanh(x), 15));
    }

    [Fact]
    public void Vector512KernelsAgreeBitwiseWithTheVector256Kernels()
    {
        // Same operations lane by lane, so the width must not change a single bit (this is what lets the Vector256
        // error analysis stand for both).
        var xf = FloatSweep();
        float[] a = new float[xf.Length], b = new float[xf.Length];
        FastTanh512.Apply(xf, a);
        FastTanh.Apply(xf, b);
        for (int i = 0; i < xf.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(a[i]) == BitConverter.SingleToInt32Bits(b[i]), $"float x = {xf[i]:R}: {a[i]:R} vs {b[i]:R}");
        var xd = DoubleSweep();
        double[] c = new double[xd.Length], d = new double[xd.Length];
        FastTanh512.Apply(xd, c);
        FastTanh.Apply(xd, d);
        for (int i = 0; i < xd.Length; i++)
            Assert.True(BitConverter.DoubleToInt64Bits(c[i]) == BitConverter.DoubleToInt64Bits(d[i]), $"double x = {xd[i]:R}: {c[i]:R} vs {d[i]:R}");
    }

    [Theory]
    [InlineData("512")]
    [InlineData("256")]
    [InlineData("dispatch")]
    public void FloatSpecialValues(string kernel)
    {
        float[] x = [0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, -float.NaN, float.MaxValue,
            float.MinValue, 1e30f, -10f, float.Epsilon, -float.Epsilon, 1e-30f, -1e-20f, 1e-38f, 9.999999f, 0.29999998f];
        var y = new float[x.Length];
        Float(kernel)(x, y);
        Assert.True(y[0] == 0f && !float.IsNegative(y[0]), $"tanh(+0) = {y[0]:R}");
        Assert.True(y[1] == 0f && float.IsNegative(y[1]), $"tanh(−0) = {y[1]:R}");
        Assert.Equal(1f, y[2]); Assert.Equal(-1f, y[3]);
        Assert.True(float.IsNaN(y[4]) && float.IsNaN(y[5]), "NaN in, NaN out");
        Assert.Equal(1f, y[6]); Assert.Equal(-1f, y[7]); Assert.Equal(1f, y[8]); Assert.Equal(-1f, y[9]);
        for (int i = 10; i <= 14; i++) Assert.True(y[i] == x[i], $"tiny x = {x[i]:R}: tanh x = {y[i]:R}, expected x itself");
        for (int i = 15; i < x.Length; i++) Assert.True(FloatUlps(y[i], Math.Tanh(x[i])) <= 3, $"x = {x[i]:R}: {y[i]:R}");
    }

    [Theory]
    [InlineData("512")]
    [InlineData("256")]
    [InlineData("dispatch")]
    public void DoubleSpecialValues(string kernel)
    {
        double[] x = [0.0, -0.0, double.PositiveInfinity, double.NegativeInfinity, double.NaN, -double.NaN, double.MaxValue,
            double.MinValue, 1e300, -20.0, double.Epsilon, -double.Epsilon, 1e-300, -1e-200, 1e-17, 19.999999999, 0.3];
        var y = new double[x.Length];
        Double(kernel)(x, y);
        Assert.True(y[0] == 0 && !double.IsNegative(y[0]), $"tanh(+0) = {y[0]:R}");
        Assert.True(y[1] == 0 && double.IsNegative(y[1]), $"tanh(−0) = {y[1]:R}");
        Assert.Equal(1.0, y[2]); Assert.Equal(-1.0, y[3]);
        Assert.True(double.IsNaN(y[4]) && double.IsNaN(y[5]), "NaN in, NaN out");
        Assert.Equal(1.0, y[6]); Assert.Equal(-1.0, y[7]); Assert.Equal(1.0, y[8]); Assert.Equal(-1.0, y[9]);
        for (int i = 10; i <= 14; i++) Assert.True(y[i] == x[i], $"tiny x = {x[i]:R}: tanh x = {y[i]:R}, expected x itself");
        for (int i = 15; i < x.Length; i++) Assert.True(DoubleUlps(y[i], Math.Tanh(x[i])) <= 4, $"x = {x[i]:R}: {y[i]:R}");
    }

    public static TheoryData<string, int> KernelsAndLengths()
    {
        var data = new TheoryData<string, int>();
        foreach (var kernel in new[] { "512", "256", "dispatch" })
            for (int n = 1; n <= 33; n++) data.Add(kernel, n);
        return data;
    }

    [Theory]
    [MemberData(nameof(KernelsAndLengths))]
    public void TailLengthsWriteExactlyTheirElementsAlsoInPlace(string kernel, int n)
    {
        // Inputs on both branches and a NaN in the last slot, so that the padded tail sees every path; the element
        // after the span must not be written.
        var xf = Enumerable.Range(0, n).Select(i => (i % 2 == 0 ? 1 : -1) * (0.07f + 0.61f * i)).ToArray();
        xf[n - 1] = float.NaN;
        var yf = new float[n + 1]; yf[n] = 42f;
        Float(kernel)(xf, yf.AsSpan(0, n));
        Assert.Equal(42f, yf[n]);
        Assert.True(float.IsNaN(yf[n - 1]));
        for (int i = 0; i < n - 1; i++) Assert.True(FloatUlps(yf[i], Math.Tanh(xf[i])) <= 3, $"float n = {n}, i = {i}: {yf[i]:R}");
        var inPlace = (float[])xf.Clone();
        Float(kernel)(inPlace, inPlace);
        for (int i = 0; i < n; i++) Assert.Equal(BitConverter.SingleToInt32Bits(yf[i]), BitConverter.SingleToInt32Bits(inPlace[i]));

        var xd = xf.Select(v => (double)v).ToArray();
        var yd = new double[n + 1]; yd[n] = 42;
        Double(kernel)(xd, yd.AsSpan(0, n));
        Assert.Equal(42.0, yd[n]);
        Assert.True(double.IsNaN(yd[n - 1]));
        for (int i = 0; i < n - 1; i++) Assert.True(DoubleUlps(yd[i], Math.Tanh(xd[i])) <= 4, $"double n = {n}, i = {i}: {yd[i]:R}");
        var inPlaceD = (double[])xd.Clone();
        Double(kernel)(inPlaceD, inPlaceD);
        for (int i = 0; i < n; i++) Assert.Equal(BitConverter.DoubleToInt64Bits(yd[i]), BitConverter.DoubleToInt64Bits(inPlaceD[i]));
    }

    [Fact]
    public void DestinationShorterThanSourceThrows()
    {
        Assert.Throws<ArgumentException>(() => FastTanh512.Apply(new float[17], new float[16]));
        Assert.Throws<ArgumentException>(() => FastTanh512.Apply(new double[9], new double[8]));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(16)]
    [InlineData(33)]
    [InlineData(51200 + 5)]
    public void TanhBackwardMatchesTheScalarFormulaBitForBit(int n)
    {
        // The vector loops (Vector512 here, Vector<T> elsewhere) and the scalar tail evaluate gY·(1 − y·y) with the
        // same roundings, so every element must equal the scalar expression exactly.
        var rng = new Random(n);
        var yf = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var gf = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        var accF = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray();
        var outF = new float[n]; var sumF = (float[])accF.Clone();
        Activations.TanhBackward<float>(yf, gf, outF);
        Activations.TanhBackwardAdd<float>(yf, gf, sumF);
        for (int i = 0; i < n; i++)
        {
            float d = gf[i] * (1f - yf[i] * yf[i]);
            Assert.True(d == outF[i], $"float TanhBackward[{i}] = {outF[i]:R}, expected {d:R}");
            Assert.True(accF[i] + d == sumF[i], $"float TanhBackwardAdd[{i}] = {sumF[i]:R}, expected {accF[i] + d:R}");
        }

        var yd = yf.Select(v => (double)v * 0.999).ToArray();
        var gd = gf.Select(v => (double)v).ToArray();
        var accD = accF.Select(v => (double)v).ToArray();
        var outD = new double[n]; var sumD = (double[])accD.Clone();
        Activations.TanhBackward<double>(yd, gd, outD);
        Activations.TanhBackwardAdd<double>(yd, gd, sumD);
        for (int i = 0; i < n; i++)
        {
            double d = gd[i] * (1.0 - yd[i] * yd[i]);
            Assert.True(d == outD[i], $"double TanhBackward[{i}] = {outD[i]:R}, expected {d:R}");
            Assert.True(accD[i] + d == sumD[i], $"double TanhBackwardAdd[{i}] = {sumD[i]:R}, expected {accD[i] + d:R}");
        }
    }
}
