using System.Numerics;
using OdeDsl.Tensors;

namespace OdeDsl.Tests.Tensors;

/// <summary>Tests that switch GEMM's process-wide settings (kernel path, split thresholds) run alone: otherwise other
/// classes' products and allocation checks would see the lowered thresholds, and these tests would race with them.</summary>
[CollectionDefinition(nameof(GemmGlobalSettings), DisableParallelization = true)]
public sealed class GemmGlobalSettings;

[Collection(nameof(GemmGlobalSettings))]
public class GemmTests
{
    // (m, n, k): edges of the 8×32 / 8×16 register tiles, k = 1, GEMV, and the neural-ODE shapes
    // (2→50→2 spiral field, 64-wide MLP) at small batches.
    public static readonly (int M, int N, int K)[] Shapes =
    [
        (1, 1, 1), (1, 64, 64), (64, 1, 64), (7, 33, 5), (8, 32, 16), (9, 31, 17), (17, 65, 3),
        (5, 40, 1), (13, 2, 50), (50, 2, 13), (37, 50, 2), (3, 1, 7), (1, 1, 100), (33, 97, 70),
        (16, 48, 129), (24, 17, 9), (64, 64, 64), (2, 130, 11), (70, 7, 33), (11, 96, 1), (33, 3, 40), (100, 5, 17), (17, 2, 1), (20, 15, 9),
    ];

    // Every kernel family runs on every machine: Vector512 code is emulated (correct, slow) without AVX-512.
    internal static readonly GemmPath[] Paths = [GemmPath.Scalar, GemmPath.Vector256, GemmPath.Vector512];

    public static IEnumerable<object[]> Cases()
    {
        int i = 0;
        foreach (var path in Paths)
            foreach (var (m, n, k) in Shapes)
                for (int t = 0; t < 4; t++, i++)
                    yield return [path, m, n, k, (t & 1) != 0, (t & 2) != 0, i];
    }

    [Theory, MemberData(nameof(Cases))]
    internal void FloatMatchesNaive(GemmPath path, int m, int n, int k, bool transA, bool transB, int seed)
        => WithPath(path, () => CheckAgainstNaive<float>(m, n, k, transA, transB, seed, 2e-5));

    [Theory, MemberData(nameof(Cases))]
    internal void DoubleMatchesNaive(GemmPath path, int m, int n, int k, bool transA, bool transB, int seed)
        => WithPath(path, () => CheckAgainstNaive<double>(m, n, k, transA, transB, seed, 1e-13));

    /// <summary>Runs <paramref name="body"/> with the given kernel family, then restores the detected one.
    /// Other test classes running meanwhile may see the forced family too, which is harmless: all agree.</summary>
    internal static void WithPath(GemmPath path, Action body)
    {
        var saved = GemmDriver.Path;
        GemmDriver.Path = path;
        try { body(); }
        finally { GemmDriver.Path = saved; }
    }

    private static void CheckAgainstNaive<T>(int m, int n, int k, bool transA, bool transB, int seed, double tol)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Cycle α/β so every shape sees plain, accumulating and scaled products; pad leading dimensions on odd seeds.
        (double alpha, double beta) = (seed % 3) switch { 0 => (1.0, 0.0), 1 => (0.5, 1.0), _ => (-2.0, 0.25) };
        int pad = seed % 2;
        int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = aCols + pad, ldb = bCols + 2 * pad, ldc = n + 3 * pad;
        var a = TensorTestData.Random<T>(aRows * lda, seed);
        var b = TensorTestData.Random<T>(bRows * ldb, seed + 1000);
        var c = TensorTestData.Random<T>(m * ldc, seed + 2000);
        if (beta == 0) c.AsSpan().Fill(T.NaN); // β = 0 must not read C

        var expected = new double[m * ldc];
        var bound = new double[m * ldc];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < ldc; j++)
            {
                double c0 = double.CreateChecked(c[i * ldc + j]);
                if (j >= n) { expected[i * ldc + j] = c0; continue; } // padding must stay untouched
                double sum = 0, abs = 0;
                for (int p = 0; p < k; p++)
                {
                    double av = double.CreateChecked(transA ? a[p * lda + i] : a[i * lda + p]);
                    double bv = double.CreateChecked(transB ? b[j * ldb + p] : b[p * ldb + j]);
                    sum += av * bv; abs += Math.Abs(av * bv);
                }
                expected[i * ldc + j] = alpha * sum + (beta == 0 ? 0 : beta * c0);
                bound[i * ldc + j] = Math.Abs(alpha) * abs + (beta == 0 ? 0 : Math.Abs(beta * c0));
            }

        // The NaN padding columns are compared by the loop below only where j < n.
        Gemm.Multiply(transA, transB, m, n, k, T.CreateChecked(alpha), a, lda, b, ldb, T.CreateChecked(beta), c, ldc);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < ldc; j++)
            {
                int idx = i * ldc + j;
                double actual = double.CreateChecked(c[idx]);
                if (j >= n)
                {
                    Assert.True(actual.Equals(expected[idx]), $"padding C[{i},{j}] was overwritten");
                    continue;
                }
                double err = Math.Abs(actual - expected[idx]);
                Assert.True(err <= tol * (1 + bound[idx]),
                    $"C[{i},{j}] = {actual}, expected {expected[idx]} (m={m} n={n} k={k} tA={transA} tB={transB} α={alpha} β={beta})");
            }
    }

    [Fact]
    public void LargeSquareFloatMatchesNaive() => CheckAgainstNaive<float>(130, 150, 140, false, false, 0, 2e-5);

    [Fact]
    public void LargeBatchTallSkinnyDoubleMatchesNaive() => CheckAgainstNaive<double>(300, 64, 64, false, true, 3, 1e-13);

    [Fact]
    public void Vector512FamilyHandlesOddLargeShapes()
    {
        WithPath(GemmPath.Vector512, () => CheckAgainstNaive<float>(45, 77, 31, true, true, 5, 2e-5));
        WithPath(GemmPath.Vector512, () => CheckAgainstNaive<double>(45, 77, 31, false, true, 4, 1e-13));
    }

    [Fact]
    public void TwoThreadSplitMatchesNaiveAndDoesNotAllocate()
    {
        // Lower the thresholds so that small products split too; repeat so the pool's and the caller's
        // claims on the second half race many times (either side may run it).
        var (enabled, minProduct, minRows) = (GemmParallel.Enabled, GemmParallel.MinProduct, GemmParallel.MinRows);
        (GemmParallel.Enabled, GemmParallel.MinProduct, GemmParallel.MinRows) = (true, 1, 16);
        try
        {
            int seed = 0;
            foreach (var (m, n, k) in new[] { (100, 37, 20), (49, 64, 9), (130, 3, 40), (16, 70, 70) })
                for (int t = 0; t < 4; t++, seed++)
                {
                    CheckAgainstNaive<float>(m, n, k, (t & 1) != 0, (t & 2) != 0, seed, 2e-5);
                    CheckAgainstNaive<double>(m, n, k, (t & 1) != 0, (t & 2) != 0, seed, 1e-13);
                }

            var a = TensorTestData.Random<double>(64 * 48, 1);
            var b = TensorTestData.Random<double>(48 * 40, 2);
            var expected = new double[64 * 40];
            GemmParallel.Enabled = false;
            Gemm.Multiply(false, false, 64, 40, 48, 1.0, a, 48, b, 40, 0.0, expected, 40);
            GemmParallel.Enabled = true;
            var c = new double[64 * 40];
            for (int i = 0; i < 300; i++)
            {
                Gemm.Multiply(false, false, 64, 40, 48, 1.0, a, 48, b, 40, 0.0, c, 40);
                Assert.Equal(expected, c);
            }
            AllocationAssert.NoneWithin(() => { for (int i = 0; i < 50; i++) Gemm.Multiply(false, false, 64, 40, 48, 1.0, a, 48, b, 40, 0.0, c, 40); });
        }
        finally
        {
            (GemmParallel.Enabled, GemmParallel.MinProduct, GemmParallel.MinRows) = (enabled, minProduct, minRows);
        }
    }

    [Fact]
    public void AlphaZeroOrKZeroScalesC()
    {
        var c = new float[] { 1, 2, 3, 4 };
        Gemm.Multiply(false, false, 2, 2, 0, 1f, ReadOnlySpan<float>.Empty, 1, ReadOnlySpan<float>.Empty, 2, 3f, c, 2);
        Assert.Equal([3f, 6f, 9f, 12f], c);
        var nan = new double[] { double.NaN, double.NaN };
        Gemm.Multiply(false, false, 1, 2, 1, 0.0, [1.0], 1, [1.0, 1.0], 2, 0.0, nan, 2);
        Assert.Equal([0.0, 0.0], nan);
    }

    [Fact]
    public void ShortSpansAndBadLeadingDimensionsThrow()
    {
        var a = new float[6]; var b = new float[6]; var c = new float[4];
        var ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, false, 2, 2, 3, 1f, a.AsSpan(0, 5), 3, b, 2, 0f, c, 2));
        Assert.Contains("a has 5 elements", ex.Message);
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, false, 2, 2, 3, 1f, a, 2, b, 2, 0f, c, 2));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, true, 2, 2, 3, 1f, a, 3, b, 2, 0f, c, 2));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, false, 2, 2, 3, 1f, a, 3, b, 2, 0f, c.AsSpan(0, 3), 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(false, false, -1, 2, 3, 1f, a, 3, b, 2, 0f, c, 2));
    }

    [Fact]
    public void RepeatedCallsDoNotAllocate()
    {
        var a = TensorTestData.Random<float>(256 * 64, 1);
        var b = TensorTestData.Random<float>(64 * 64, 2);
        var c = new float[256 * 64];
        var ad = TensorTestData.Random<double>(256 * 64, 1);
        var bd = TensorTestData.Random<double>(64 * 64, 2);
        var cd = new double[256 * 64];
        void Run()
        {
            for (int t = 0; t < 4; t++)
            {
                bool ta = (t & 1) != 0, tb = (t & 2) != 0;
                // m = 256, n = 64, k = 64: A is 256×64 (lda 64) or, transposed, 64×256 (lda 256).
                Gemm.Multiply(ta, tb, 256, 64, 64, 1f, a, ta ? 256 : 64, b, 64, 0f, c, 64);
                Gemm.Multiply(ta, tb, 256, 64, 64, 1.0, ad, ta ? 256 : 64, bd, 64, 1.0, cd, 64);
                Gemm.Multiply(ta, tb, 1, 64, 64, 1f, a, ta ? 1 : 64, b, 64, 0f, c, 64);
            }
        }
        AllocationAssert.NoneWithin(Run);
    }
}
