using System.Numerics;
using System.Runtime.Intrinsics;
using OdeDsl.Tensors;

namespace OdeDsl.Tests.Tensors;

/// <summary>
/// The kernels behind the spiral field's layers, each width called directly where it can be (Vector512 code runs in
/// software without AVX-512; the AVX-512 n = 2 kernel uses x86 intrinsics, so it runs only where they are supported,
/// and the dispatch test checks that Gemm then uses it): GemmSmallK (k ≤ 4) against the exact scalar expression,
/// GemmNarrow512 (n = 2) against a naive product, AddRowVector, and Sigmoid/ReLU backward, over every tail length.
/// </summary>
[Collection(nameof(GemmGlobalSettings))]
public class SpiralKernelTests
{
    // ---- GemmSmallK ----

    public static IEnumerable<object[]> SmallKCases()
    {
        int seed = 0;
        foreach (int k in new[] { 1, 2, 3, 4 })
            foreach (int n in new[] { 8, 9, 15, 16, 17, 23, 31, 32, 33, 47, 50, 64, 70 })
                for (int t = 0; t < 4; t++, seed++)
                    yield return [k, n, (t & 1) != 0, (t & 2) != 0, seed];
    }

    [Theory, MemberData(nameof(SmallKCases))]
    public void SmallKFloatBothWidthsEqualTheScalarExpression(int k, int n, bool transA, bool transB, int seed)
        => CheckSmallK<float>(k, n, transA, transB, seed);

    [Theory, MemberData(nameof(SmallKCases))]
    public void SmallKDoubleBothWidthsEqualTheScalarExpression(int k, int n, bool transA, bool transB, int seed)
        => CheckSmallK<double>(k, n, transA, transB, seed);

    private static void CheckSmallK<T>(int k, int n, bool transA, bool transB, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (n < Vector<T>.Count) return; // GemmSmallK.Applies excludes it
        const int m = 3;
        foreach (var (alpha, beta) in new[] { (1.0, 0.0), (0.5, 1.0), (-2.0, 0.25) })
        {
            int lda = (transA ? m : k) + 1, ldb = (transB ? k : n) + 2, ldc = n + 3;
            var a = TensorTestData.Random<T>((transA ? k : m) * lda, seed);
            var b = TensorTestData.Random<T>((transB ? n : k) * ldb, seed + 1);
            var c0 = TensorTestData.Random<T>(m * ldc, seed + 2);
            if (beta == 0) for (int i = 0; i < m; i++) c0.AsSpan(i * ldc, n).Fill(T.NaN); // β = 0 must not read C
            T al = T.CreateChecked(alpha), be = T.CreateChecked(beta);

            // The documented expression: β·C (or C, or nothing) + a_i0·(αB_0) + a_i1·(αB_1) + …, left to right.
            var expected = (T[])c0.Clone();
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    T A(int p) => transA ? a[p * lda + i] : a[i * lda + p];
                    T B(int p) => al * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                    T acc = A(0) * B(0);
                    if (beta != 0) acc = (beta == 1 ? c0[i * ldc + j] : be * c0[i * ldc + j]) + acc;
                    for (int p = 1; p < k; p++) acc += A(p) * B(p);
                    expected[i * ldc + j] = acc;
                }

            foreach (bool wide in new[] { false, true })
            {
                if (wide && n < Vector512<T>.Count) continue;
                var c = (T[])c0.Clone();
                GemmSmallK.Run(wide, transA, transB, m, n, k, al, a, lda, b, ldb, be, c, ldc);
                for (int idx = 0; idx < c.Length; idx++)
                    Assert.True(c[idx].Equals(expected[idx]),
                        $"wide={wide} k={k} n={n} tA={transA} tB={transB} α={alpha} β={beta}: C[{idx / ldc},{idx % ldc}] = {c[idx]}, expected {expected[idx]}");
            }
        }
    }

    // ---- GemmNarrow512 (n = 2, Bᵀ) ----

    public static IEnumerable<object[]> NarrowCases()
    {
        // k: one vector up to three and a bit for both lane counts (every k mod 8 and mod 16); m: 1 to past two tiles.
        foreach (int k in new[] { 8, 9, 11, 13, 15, 16, 17, 20, 24, 25, 31, 32, 33, 40, 47, 48, 50, 51, 63 })
            yield return [k];
    }

    [Theory, MemberData(nameof(NarrowCases))]
    public void NarrowTwoColumnsFloatMatchesNaive(int k) => CheckNarrow<float>(k, 3e-6);

    [Theory, MemberData(nameof(NarrowCases))]
    public void NarrowTwoColumnsDoubleMatchesNaive(int k) => CheckNarrow<double>(k, 1e-14);

    private static unsafe void CheckNarrow<T>(int k, double tol) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (k < Vector512<T>.Count) return;
        int seed = k * 31;
        for (int m = 1; m <= 19; m++)
            foreach (int ldc in new[] { 2, 3 })
                foreach (var (alpha, beta) in new[] { (1.0, 0.0), (0.5, 1.0), (-2.0, 0.25) })
                {
                    int lda = k + (m % 2), ldb = k + 1, rowsC = m + 1; // one sentinel row after C
                    var a = TensorTestData.Random<T>(m * lda, seed++);
                    var b = TensorTestData.Random<T>(2 * ldb, seed++);
                    var c0 = TensorTestData.Random<T>(rowsC * ldc, seed++);
                    if (beta == 0) for (int i = 0; i < m; i++) { c0[i * ldc] = T.NaN; c0[i * ldc + 1] = T.NaN; }
                    var expected = new double[c0.Length];
                    for (int idx = 0; idx < c0.Length; idx++) expected[idx] = double.CreateChecked(c0[idx]);
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < 2; j++)
                        {
                            double s = 0;
                            for (int p = 0; p < k; p++) s += double.CreateChecked(a[i * lda + p]) * double.CreateChecked(b[j * ldb + p]);
                            expected[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * double.CreateChecked(c0[i * ldc + j]));
                        }
                    T al = T.CreateChecked(alpha), be = T.CreateChecked(beta);
                    string what = $"{typeof(T).Name} m={m} k={k} ldc={ldc} α={alpha} β={beta}";

                    var viaGemm = (T[])c0.Clone();
                    GemmTests.WithPath(GemmPath.Vector512,
                        () => Gemm.Multiply(false, true, m, 2, k, al, a, lda, b, ldb, be, viaGemm.AsSpan(0, m * ldc), ldc));
                    CheckClose(expected, viaGemm, ldc, tol, what + " (Gemm)");
                    if (!GemmNarrow512.IsSupported) continue;

                    var direct = (T[])c0.Clone();
                    fixed (T* pa = a, pb = b, pc = direct)
                    {
                        if (typeof(T) == typeof(float))
                            GemmNarrow512.Run(m, k, float.CreateChecked(alpha), (float*)pa, lda, (float*)pb, ldb, float.CreateChecked(beta), (float*)pc, ldc, beta != 0);
                        else
                            GemmNarrow512.Run(m, k, alpha, (double*)pa, lda, (double*)pb, ldb, beta, (double*)pc, ldc, beta != 0);
                    }
                    CheckClose(expected, direct, ldc, tol, what + " (direct)");
                    if (2L * m * k > GemmTiny.MaxProduct) // smaller products take GemmTiny
                        Assert.True(direct.AsSpan().SequenceEqual(viaGemm), $"{what}: Gemm did not take the n = 2 kernel");
                }
    }

    private static void CheckClose<T>(double[] expected, T[] actual, int ldc, double tol, string what) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int idx = 0; idx < expected.Length; idx++)
        {
            double v = double.CreateChecked(actual[idx]);
            bool untouched = idx % ldc >= 2 || idx >= expected.Length - ldc; // padding column or the sentinel row
            if (untouched ? !v.Equals(expected[idx]) : !(Math.Abs(v - expected[idx]) <= tol * (1 + Math.Abs(expected[idx]))))
                Assert.Fail($"{what}: C[{idx / ldc},{idx % ldc}] = {v}, expected {expected[idx]}");
        }
    }

    [Fact]
    public void SpiralShapedProductsDoNotAllocate()
    {
        var a = TensorTestData.Random<float>(200 * 50, 1);
        var w2 = TensorTestData.Random<float>(100, 2);
        var h = TensorTestData.Random<float>(400, 3);
        var c = new float[200 * 50];
        var ad = TensorTestData.Random<double>(200 * 50, 1);
        var w2d = TensorTestData.Random<double>(100, 2);
        var hd = TensorTestData.Random<double>(400, 3);
        var cd = new double[200 * 50];
        void Run()
        {
            Gemm.Multiply(false, true, 200, 50, 2, 1f, h, 2, w2, 2, 0f, c, 50);
            Gemm.Multiply(false, true, 200, 2, 50, 1f, a, 50, w2, 50, 0f, c, 2);
            RowOps.AddRowVector<float>(200, 50, c, a, c);
            RowOps.AddRowVector<float>(200, 2, c, a, c);
            Gemm.Multiply(false, true, 200, 50, 2, 1.0, hd, 2, w2d, 2, 0.0, cd, 50);
            Gemm.Multiply(false, true, 200, 2, 50, 1.0, ad, 50, w2d, 50, 0.0, cd, 2);
            RowOps.AddRowVector<double>(200, 50, cd, ad, cd);
            RowOps.AddRowVector<double>(200, 2, cd, ad, cd);
        }
        AllocationAssert.NoneWithin(Run);
    }

    // ---- AddRowVector ----

    public static IEnumerable<object[]> RowVectorCases()
    {
        foreach (int bits in new[] { 0, 128, 256, 512 })
            foreach (int cols in new[] { 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 50 })
                yield return [bits, cols];
    }

    [Theory, MemberData(nameof(RowVectorCases))]
    public void AddRowVectorEveryWidthIsExactInPlaceAndStaysInBounds(int bits, int cols)
    {
        if (bits != 0 && bits != 512 && bits != Vector<float>.Count * 32) return; // only this machine's Vector<T>
        CheckAddRow<float>(bits, cols);
        CheckAddRow<double>(bits, cols);
    }

    private static void CheckAddRow<T>(int bits, int cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int rows = 0; rows <= 19; rows++)
        {
            int n = rows * cols;
            var x = TensorTestData.Random<T>(n + 1, rows + 7 * cols);
            var v = TensorTestData.Random<T>(cols, cols);
            var y = new T[n + 1];
            T sentinel = T.CreateChecked(12345);
            y[n] = sentinel;
            RowOps.AddRowVector(bits, rows, cols, x.AsSpan(0, n), v, y.AsSpan(0, n));
            for (int idx = 0; idx < n; idx++)
                Assert.True(y[idx].Equals(x[idx] + v[idx % cols]), $"{typeof(T).Name} bits={bits} rows={rows} cols={cols}: y[{idx}]");
            Assert.Equal(sentinel, y[n]);

            var z = (T[])x.Clone();
            z[n] = sentinel;
            RowOps.AddRowVector(bits, rows, cols, z.AsSpan(0, n), v, z.AsSpan(0, n)); // in place
            for (int idx = 0; idx < n; idx++)
                Assert.True(z[idx].Equals(x[idx] + v[idx % cols]), $"{typeof(T).Name} in place bits={bits} rows={rows} cols={cols}: z[{idx}]");
            Assert.Equal(sentinel, z[n]);
        }
    }

    // ---- Sigmoid / ReLU backward ----

    [Fact]
    public void SigmoidAndReluBackwardEqualTheScalarExpressionAtEveryTail()
    {
        CheckBackward<float>();
        CheckBackward<double>();
    }

    private static void CheckBackward<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int n = 0; n <= 70; n++)
        {
            var x = TensorTestData.Random<T>(n, n);
            var y = x.Select(v => T.One / (T.One + T.Exp(-v))).ToArray();
            var g = TensorTestData.Random<T>(n, n + 100);
            var acc = TensorTestData.Random<T>(n, n + 200);
            if (n > 3) x[3] = T.Zero; // the ReLU subgradient at 0 is 0

            var written = new T[n];
            var added = (T[])acc.Clone();
            Activations.SigmoidBackward<T>(y, g, written);
            Activations.SigmoidBackwardAdd<T>(y, g, added);
            for (int i = 0; i < n; i++)
            {
                T d = g[i] * y[i] * (T.One - y[i]);
                Assert.True(written[i].Equals(d), $"sigmoid {typeof(T).Name} n={n} [{i}]");
                Assert.True(added[i].Equals(acc[i] + d), $"sigmoid add {typeof(T).Name} n={n} [{i}]");
            }

            written = new T[n];
            added = (T[])acc.Clone();
            Activations.ReluBackward<T>(x, g, written);
            Activations.ReluBackwardAdd<T>(x, g, added);
            for (int i = 0; i < n; i++)
            {
                T d = x[i] > T.Zero ? g[i] : T.Zero;
                Assert.True(written[i].Equals(d), $"relu {typeof(T).Name} n={n} [{i}]");
                Assert.True(added[i].Equals(acc[i] + d), $"relu add {typeof(T).Name} n={n} [{i}]");
            }
        }
    }
}
