using System.Numerics;
using System.Runtime.Intrinsics;
using OdeDsl.Tensors;

namespace OdeDsl.Tests.Tensors;

/// <summary>
/// The kernels behind the spiral field's reverse sweep: GemmOuter (Aᵀ·B with a side ≤ 4, the weight gradients) on both
/// widths against its documented fused multiply-add chain (bit for bit) and a double reference; the n = 2, B-not-
/// transposed route into GemmNarrow512 (GemmNarrow256 has its own tests); AccumulateColumnSums on every width against the row-order scalar sum; and a
/// dispatch check that the VJP's four Gemm shapes reach these kernels.
/// </summary>
[Collection(nameof(GemmGlobalSettings))]
public class ReverseSweepKernelTests
{
    private static readonly (double Alpha, double Beta)[] AlphaBeta = [(1.0, 0.0), (1.0, 1.0), (0.5, 1.0), (-2.0, 0.25)];

    public static IEnumerable<object[]> OuterCases()
    {
        foreach (int small in new[] { 1, 2, 3, 4 })
            foreach (int wide in new[] { 4, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 47, 50, 63, 64, 65, 100 })
                foreach (bool smallIsM in new[] { true, false })
                    yield return [small, wide, smallIsM];
    }

    [Theory, MemberData(nameof(OuterCases))]
    public void OuterFloatMatchesTheFmaChainOnBothWidths(int small, int wide, bool smallIsM)
        => CheckOuter<float>(small, wide, smallIsM, 2e-6);

    [Theory, MemberData(nameof(OuterCases))]
    public void OuterDoubleMatchesTheFmaChainOnBothWidths(int small, int wide, bool smallIsM)
        => CheckOuter<double>(small, wide, smallIsM, 1e-14);

    private static unsafe void CheckOuter<T>(int small, int wide, bool smallIsM, double tol) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = smallIsM ? small : wide, n = smallIsM ? wide : small;
        int seed = small * 1000 + wide * 10 + (smallIsM ? 1 : 0);
        foreach (int k in new[] { 1, 2, 3, 7, 16, 20, 33 })
            foreach (var (alpha, beta) in AlphaBeta)
            {
                int lda = m + seed % 2, ldb = n + 1, ldc = n + 2, rowsC = m + 1; // padding columns and a sentinel row after C
                var a = TensorTestData.Random<T>(k * lda, seed++);
                var b = TensorTestData.Random<T>(k * ldb, seed++);
                var c0 = TensorTestData.Random<T>(rowsC * ldc, seed++);
                if (beta == 0) for (int i = 0; i < m; i++) c0.AsSpan(i * ldc, n).Fill(T.NaN); // β = 0 must not read C
                T al = T.CreateChecked(alpha), be = T.CreateChecked(beta);

                // The documented order: s = +0, s = fma(A[p, i], B[p, j], s) for p in order, then α·s + β·C.
                var model = (T[])c0.Clone();
                var reference = new double[c0.Length];
                for (int idx = 0; idx < c0.Length; idx++) reference[idx] = double.CreateChecked(c0[idx]);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                    {
                        T s = T.Zero;
                        double d = 0;
                        for (int p = 0; p < k; p++)
                        {
                            s = T.FusedMultiplyAdd(a[p * lda + i], b[p * ldb + j], s);
                            d += double.CreateChecked(a[p * lda + i]) * double.CreateChecked(b[p * ldb + j]);
                        }
                        int at = i * ldc + j;
                        model[at] = beta == 0 ? al * s : al * s + be * c0[at];
                        reference[at] = alpha * d + (beta == 0 ? 0 : beta * double.CreateChecked(c0[at]));
                    }

                foreach (bool wideVectors in new[] { true, false })
                {
                    int lanes = wideVectors ? Vector512<T>.Count : Vector256<T>.Count;
                    if (wide < lanes) continue;
                    string what = $"{typeof(T).Name} wide={wideVectors} m={m} n={n} k={k} α={alpha} β={beta}";
                    var c = (T[])c0.Clone();
                    fixed (T* pa = a, pb = b, pc = c)
                        GemmOuter.Run(wideVectors, m, n, k, al, pa, lda, pb, ldb, be, pc, ldc);
                    for (int idx = 0; idx < c.Length; idx++)
                        Assert.True(c[idx].Equals(model[idx]), $"{what}: C[{idx / ldc},{idx % ldc}] = {c[idx]}, model {model[idx]}");
                    TensorTestData.AssertClose<T>(reference, c, tol * (1 + k), what);

                    // Through Gemm: the same bits on the matching kernel family.
                    var viaGemm = (T[])c0.Clone();
                    GemmTests.WithPath(wideVectors ? GemmPath.Vector512 : GemmPath.Vector256,
                        () => Gemm.Multiply(true, false, m, n, k, al, a, lda, b, ldb, be, viaGemm.AsSpan(0, m * ldc), ldc));
                    if (GemmOuter.Applies(true, false, m, n, lanes) && k > GemmSmallK.MaxK && (long)m * n * k > GemmTiny.MaxProduct)
                        Assert.True(viaGemm.AsSpan().SequenceEqual(c), $"{what}: Gemm did not take GemmOuter");
                    else
                        TensorTestData.AssertClose<T>(reference, viaGemm, tol * (1 + k), what + " (Gemm)");
                }
            }
    }

    // ---- n = 2 with B not transposed (a7 += a8·W1) ----

    [Theory]
    [InlineData(16), InlineData(17), InlineData(31), InlineData(32), InlineData(33), InlineData(50), InlineData(63)]
    public void TwoColumnsWithBNotTransposedFloat(int k) => CheckTwoColumns<float>(k, 3e-6);

    [Theory]
    [InlineData(8), InlineData(9), InlineData(15), InlineData(16), InlineData(17), InlineData(50), InlineData(63)]
    public void TwoColumnsWithBNotTransposedDouble(int k) => CheckTwoColumns<double>(k, 1e-14);

    private static unsafe void CheckTwoColumns<T>(int k, double tol) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int seed = 7 * k;
        foreach (int m in new[] { 1, 3, 4, 7, 8, 9, 20, 33 })
            foreach (var (alpha, beta) in AlphaBeta)
                foreach (var path in GemmTests.Paths)
                {
                    int lda = k + m % 2, ldb = 2 + m % 3, ldc = 2 + m % 2, rowsC = m + 1;
                    var a = TensorTestData.Random<T>(m * lda, seed++);
                    var b = TensorTestData.Random<T>(k * ldb, seed++);
                    var c0 = TensorTestData.Random<T>(rowsC * ldc, seed++);
                    if (beta == 0) for (int i = 0; i < m; i++) { c0[i * ldc] = T.NaN; c0[i * ldc + 1] = T.NaN; }
                    var reference = new double[c0.Length];
                    for (int idx = 0; idx < c0.Length; idx++) reference[idx] = double.CreateChecked(c0[idx]);
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < 2; j++)
                        {
                            double s = 0;
                            for (int p = 0; p < k; p++) s += double.CreateChecked(a[i * lda + p]) * double.CreateChecked(b[p * ldb + j]);
                            reference[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * double.CreateChecked(c0[i * ldc + j]));
                        }
                    T al = T.CreateChecked(alpha), be = T.CreateChecked(beta);
                    string what = $"{typeof(T).Name} {path} m={m} k={k} α={alpha} β={beta}";
                    var c = (T[])c0.Clone();
                    GemmTests.WithPath(path, () => Gemm.Multiply(false, false, m, 2, k, al, a, lda, b, ldb, be, c.AsSpan(0, m * ldc), ldc));
                    TensorTestData.AssertClose<T>(reference, c, tol * (1 + k), what);

                    // On AVX-512 (and past GemmTiny), the same bits as GemmNarrow512 on Bᵀ's rows.
                    if (path != GemmPath.Vector512 || !GemmNarrow512.IsSupported || k < Vector512<T>.Count || 2L * m * k <= GemmTiny.MaxProduct) continue;
                    var bt = new T[2 * k];
                    for (int p = 0; p < k; p++) { bt[p] = b[p * ldb]; bt[k + p] = b[p * ldb + 1]; }
                    var direct = (T[])c0.Clone();
                    fixed (T* pa = a, pb = bt, pc = direct)
                    {
                        if (typeof(T) == typeof(float))
                            GemmNarrow512.Run(m, k, float.CreateChecked(alpha), (float*)pa, lda, (float*)pb, k, float.CreateChecked(beta), (float*)pc, ldc, beta != 0);
                        else
                            GemmNarrow512.Run(m, k, alpha, (double*)pa, lda, (double*)pb, k, beta, (double*)pc, ldc, beta != 0);
                    }
                    Assert.True(direct.AsSpan().SequenceEqual(c), $"{what}: Gemm did not take the n = 2 kernel");
                }
    }

    // ---- AccumulateColumnSums ----

    public static IEnumerable<object[]> ColumnSumCases()
    {
        foreach (int cols in new[] { 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 33, 50, 64, 65 })
            foreach (int rows in new[] { 0, 1, 2, 5, 20, 33 })
                yield return [rows, cols];
    }

    [Theory, MemberData(nameof(ColumnSumCases))]
    public void ColumnSumsEveryWidthEqualTheRowOrderSum(int rows, int cols)
    {
        CheckColumnSums<float>(rows, cols);
        CheckColumnSums<double>(rows, cols);
    }

    private static void CheckColumnSums<T>(int rows, int cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var x = TensorTestData.Random<T>(rows * cols, rows * 100 + cols);
        var sum0 = TensorTestData.Random<T>(cols + 3, cols); // three sentinels after the sums
        var expected = (T[])sum0.Clone();
        for (int j = 0; j < cols; j++)
        {
            T s = sum0[j];
            for (int i = 0; i < rows; i++) s += x[i * cols + j];
            expected[j] = s;
        }
        int vectorBits = Vector<T>.Count * 8 * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        foreach (int bits in new[] { 0, vectorBits, 512 })
        {
            var sum = (T[])sum0.Clone();
            RowOps.AccumulateColumnSums<T>(bits, rows, cols, x, sum);
            Assert.True(sum.AsSpan().SequenceEqual(expected), $"{typeof(T).Name} bits={bits} rows={rows} cols={cols}: [{string.Join(", ", sum)}] vs [{string.Join(", ", expected)}]");
        }
        var viaPublic = (T[])sum0.Clone();
        RowOps.AccumulateColumnSums<T>(rows, cols, x, viaPublic.AsSpan(0, cols));
        Assert.True(viaPublic.AsSpan().SequenceEqual(expected), $"{typeof(T).Name} rows={rows} cols={cols} (public)");
    }

    // ---- Dispatch: the VJP's shapes reach the new kernels ----

    [Theory]
    [InlineData(20), InlineData(100), InlineData(200)]
    public void SpiralReverseSweepShapesReachTheSmallKernels(int batch)
    {
        Dispatch<float>(batch);
        Dispatch<double>(batch);
    }

    private static void Dispatch<T>(int batch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a11 = TensorTestData.Random<T>(batch * 2, 1);
        var act = TensorTestData.Random<T>(batch * 50, 2);
        var a8 = TensorTestData.Random<T>(batch * 50, 3);
        var f7 = TensorTestData.Random<T>(batch * 2, 4);
        var w = TensorTestData.Random<T>(100, 5);
        var grad = new T[100];
        var c50 = new T[batch * 50];
        var c2 = new T[batch * 2];
        foreach (var path in new[] { GemmPath.Vector256, GemmPath.Vector512 })
            GemmTests.WithPath(path, () =>
            {
                int outer = GemmOuter.Calls;
                Gemm.Multiply(true, false, 2, 50, batch, T.One, a11, 2, act, 50, T.One, grad, 50);  // gradW2 += a11ᵀ·f10
                Assert.Equal(outer + 1, GemmOuter.Calls);
                Gemm.Multiply(true, false, 50, 2, batch, T.One, a8, 50, f7, 2, T.One, grad, 2);    // gradW1 += a8ᵀ·f7
                Assert.Equal(outer + 2, GemmOuter.Calls);
                int narrow = GemmDriver.NarrowColumnsCalls;
                Gemm.Multiply(false, false, batch, 2, 50, T.One, a8, 50, w, 2, T.One, c2, 2);      // a7 += a8·W1
                bool narrowKernel = path == GemmPath.Vector512 ? GemmNarrow512.IsSupported : GemmNarrow256.IsSupported;
                Assert.Equal(narrow + (narrowKernel ? 1 : 0), GemmDriver.NarrowColumnsCalls);
                // a10 += a11·W2 (k = 2) takes GemmSmallK: the same bits as calling it directly.
                var viaGemm = (T[])c50.Clone();
                var direct = (T[])c50.Clone();
                Gemm.Multiply(false, false, batch, 50, 2, T.One, a11, 2, w, 50, T.One, viaGemm, 50);
                GemmSmallK.Run(false, false, batch, 50, 2, T.One, a11, 2, w, 50, T.One, direct, 50);
                Assert.True(direct.AsSpan().SequenceEqual(viaGemm), $"{path} batch={batch}: a11·W2 did not take GemmSmallK");
                Assert.Equal(outer + 2, GemmOuter.Calls);
            });
    }

    [Fact]
    public void NewPathsDoNotAllocate()
    {
        var a = TensorTestData.Random<double>(200 * 50, 1);
        var b = TensorTestData.Random<double>(200 * 50, 2);
        var c = new double[200 * 50];
        var s = new double[50];
        void Run()
        {
            Gemm.Multiply(true, false, 2, 50, 200, 1.0, a, 2, b, 50, 1.0, c, 50);
            Gemm.Multiply(true, false, 50, 2, 200, 1.0, a, 50, b, 2, 1.0, c, 2);
            Gemm.Multiply(false, false, 200, 2, 50, 1.0, a, 50, b, 2, 1.0, c, 2);
            RowOps.AccumulateColumnSums<double>(200, 50, a, s);
            RowOps.AccumulateColumnSums<double>(200, 2, a, s);
        }
        AllocationAssert.NoneWithin(Run);
    }
}
