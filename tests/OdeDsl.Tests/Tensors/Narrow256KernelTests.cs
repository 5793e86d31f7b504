using System.Numerics;
using System.Runtime.Intrinsics;
using OdeDsl.Tensors;

namespace OdeDsl.Tests.Tensors;

/// <summary>
/// GemmNarrow256 (n = 2 on AVX2 + FMA): called directly against a scalar emulation of its documented summation order
/// (bit for bit) and a double reference, for every k mod W around the vector width, m = 1..19 (partial tiles), C with a
/// padding column and a sentinel row, β = 0 over NaN-filled C and β = 1 accumulation; and the dispatch: Gemm on the
/// Vector256 family gives the same bits for Bᵀ and for B not transposed (counted by NarrowColumnsCalls). The kernel uses
/// x86 intrinsics, so the direct calls run only where AVX2 + FMA are supported; the Gemm comparisons run everywhere.
/// </summary>
[Collection(nameof(GemmGlobalSettings))]
public class Narrow256KernelTests
{
    private static readonly (double Alpha, double Beta)[] AlphaBeta = [(1.0, 0.0), (1.0, 1.0), (0.5, 1.0), (-2.0, 0.25)];

    public static IEnumerable<object[]> FloatKs() => Enumerable.Range(8, 18).Concat([31, 32, 33, 50, 63]).Select(k => new object[] { k });
    public static IEnumerable<object[]> DoubleKs() => Enumerable.Range(4, 10).Concat([15, 16, 17, 50, 51]).Select(k => new object[] { k });

    [Theory, MemberData(nameof(FloatKs))]
    public void FloatMatchesTheDocumentedOrderAndNaive(int k) => Check<float>(k, 3e-6);

    [Theory, MemberData(nameof(DoubleKs))]
    public void DoubleMatchesTheDocumentedOrderAndNaive(int k) => Check<double>(k, 1e-14);

    private static unsafe void Check<T>(int k, double tol) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int seed = 101 * k + Vector256<T>.Count;
        for (int m = 1; m <= 19; m++)
            foreach (int ldc in new[] { 2, 3 })
                foreach (var (alpha, beta) in AlphaBeta)
                {
                    int lda = k + (m % 3), ldb = k + 1 + (m % 2), rowsC = m + 1; // one sentinel row after C
                    var a = TensorTestData.Random<T>(m * lda, seed++);
                    var b = TensorTestData.Random<T>(2 * ldb, seed++);
                    var c0 = TensorTestData.Random<T>(rowsC * ldc, seed++);
                    if (beta == 0) for (int i = 0; i < m; i++) { c0[i * ldc] = T.NaN; c0[i * ldc + 1] = T.NaN; } // must not be read
                    T al = T.CreateChecked(alpha), be = T.CreateChecked(beta);
                    string what = $"{typeof(T).Name} m={m} k={k} ldc={ldc} α={alpha} β={beta}";

                    var reference = new double[c0.Length];
                    var ordered = (T[])c0.Clone();
                    for (int idx = 0; idx < c0.Length; idx++) reference[idx] = double.CreateChecked(c0[idx]);
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < 2; j++)
                        {
                            double s = 0;
                            for (int p = 0; p < k; p++) s += double.CreateChecked(a[i * lda + p]) * double.CreateChecked(b[j * ldb + p]);
                            reference[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * double.CreateChecked(c0[i * ldc + j]));
                            T sum = DocumentedOrder(a.AsSpan(i * lda, k), b.AsSpan(j * ldb, k));
                            ordered[i * ldc + j] = beta != 0 ? al * sum + be * c0[i * ldc + j] : al * sum;
                        }

                    // Gemm on the Vector256 family: B's rows (op(B) = Bᵀ) and the same B stored k×2 (not transposed).
                    var bCols = new T[k * 3];
                    for (int p = 0; p < k; p++) { bCols[p * 3] = b[p]; bCols[p * 3 + 1] = b[ldb + p]; bCols[p * 3 + 2] = T.NaN; }
                    var viaGemm = (T[])c0.Clone();
                    var viaGemmColumns = (T[])c0.Clone();
                    GemmTests.WithPath(GemmPath.Vector256, () =>
                    {
                        Gemm.Multiply(false, true, m, 2, k, al, a, lda, b, ldb, be, viaGemm.AsSpan(0, m * ldc), ldc);
                        Gemm.Multiply(false, false, m, 2, k, al, a, lda, bCols, 3, be, viaGemmColumns.AsSpan(0, m * ldc), ldc);
                    });
                    CheckClose(reference, viaGemm, ldc, tol * (1 + k), what + " (Gemm, Bᵀ)");
                    CheckClose(reference, viaGemmColumns, ldc, tol * (1 + k), what + " (Gemm, B)");
                    if (!GemmNarrow256.IsSupported) continue;

                    var direct = (T[])c0.Clone();
                    fixed (T* pa = a, pb = b, pc = direct)
                    {
                        if (typeof(T) == typeof(float))
                            GemmNarrow256.Run(m, k, float.CreateChecked(alpha), (float*)pa, lda, (float*)pb, ldb, float.CreateChecked(beta), (float*)pc, ldc, beta != 0);
                        else
                            GemmNarrow256.Run(m, k, alpha, (double*)pa, lda, (double*)pb, ldb, beta, (double*)pc, ldc, beta != 0);
                    }
                    CheckClose(reference, direct, ldc, tol * (1 + k), what + " (direct)");
                    for (int idx = 0; idx < direct.Length; idx++)
                        if (!direct[idx].Equals(ordered[idx]))
                            Assert.Fail($"{what}: C[{idx / ldc},{idx % ldc}] = {direct[idx]}, the documented order gives {ordered[idx]}");
                    if (2L * m * k > GemmTiny.MaxProduct) // smaller products take GemmTiny
                    {
                        Assert.True(direct.AsSpan().SequenceEqual(viaGemm), $"{what}: Gemm (Bᵀ) did not take GemmNarrow256");
                        Assert.True(direct.AsSpan().SequenceEqual(viaGemmColumns), $"{what}: Gemm (B) did not take GemmNarrow256");
                    }
                }
    }

    /// <summary>GemmNarrow256's remarks, in scalars: W lane chains of fused multiply-adds (the overlapping, masked last
    /// load adding p = k − W + l to lanes l ≥ W − k mod W), then the fixed pairwise fold.</summary>
    private static T DocumentedOrder<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count, k = x.Length, rem = k % w;
        var lane = new T[w];
        for (int l = 0; l < w; l++)
        {
            T acc = T.Zero;
            int p = l;
            for (; p - l + w <= k; p += w) acc = T.FusedMultiplyAdd(x[p], y[p], acc);
            if (rem != 0 && l >= w - rem) acc = T.FusedMultiplyAdd(x[k - w + l], y[k - w + l], acc);
            lane[l] = acc;
        }
        return w == 8
            ? ((lane[0] + lane[2]) + (lane[1] + lane[3])) + ((lane[4] + lane[6]) + (lane[5] + lane[7]))
            : (lane[0] + lane[1]) + (lane[2] + lane[3]);
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

    [Theory]
    [InlineData(20), InlineData(100), InlineData(200), InlineData(1024)]
    public void SpiralShapesOnVector256TakeTheNarrowKernel(int batch)
    {
        Dispatch<float>(batch);
        Dispatch<double>(batch);
    }

    private static unsafe void Dispatch<T>(int batch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = TensorTestData.Random<T>(batch * 50, 1);
        var w = TensorTestData.Random<T>(100, 2);     // W2 (2×50, used as Bᵀ) or W1 (50×2, B not transposed)
        var c0 = TensorTestData.Random<T>(batch * 2, 3);
        var forward = (T[])c0.Clone();
        var reverse = (T[])c0.Clone();
        int before = GemmDriver.NarrowColumnsCalls;
        GemmTests.WithPath(GemmPath.Vector256, () =>
        {
            Gemm.Multiply(false, true, batch, 2, 50, T.One, a, 50, w, 50, T.Zero, forward, 2);  // a8 = a7·W2ᵀ-shaped
            Gemm.Multiply(false, false, batch, 2, 50, T.One, a, 50, w, 2, T.One, reverse, 2);  // a7 += a8·W1
        });
        Assert.Equal(before + (GemmNarrow256.IsSupported ? 1 : 0), GemmDriver.NarrowColumnsCalls);
        if (!GemmNarrow256.IsSupported) return;
        var wt = new T[100];
        for (int p = 0; p < 50; p++) { wt[p] = w[p * 2]; wt[50 + p] = w[p * 2 + 1]; }
        var forwardDirect = (T[])c0.Clone();
        var reverseDirect = (T[])c0.Clone();
        fixed (T* pa = a, pw = w, pwt = wt, pf = forwardDirect, pr = reverseDirect)
        {
            if (typeof(T) == typeof(float))
            {
                GemmNarrow256.Run(batch, 50, 1f, (float*)pa, 50, (float*)pw, 50, 0f, (float*)pf, 2, false);
                GemmNarrow256.Run(batch, 50, 1f, (float*)pa, 50, (float*)pwt, 50, 1f, (float*)pr, 2, true);
            }
            else
            {
                GemmNarrow256.Run(batch, 50, 1.0, (double*)pa, 50, (double*)pw, 50, 0.0, (double*)pf, 2, false);
                GemmNarrow256.Run(batch, 50, 1.0, (double*)pa, 50, (double*)pwt, 50, 1.0, (double*)pr, 2, true);
            }
        }
        Assert.True(forwardDirect.AsSpan().SequenceEqual(forward), $"{typeof(T).Name} batch={batch}: a·Wᵀ did not take GemmNarrow256");
        Assert.True(reverseDirect.AsSpan().SequenceEqual(reverse), $"{typeof(T).Name} batch={batch}: a·W did not take GemmNarrow256");
    }

    [Fact]
    public void AppliesToTwoColumnsFromOneVectorOfK()
    {
        Assert.Equal(GemmNarrow256.IsSupported, GemmNarrow256.Applies<float>(2, 50));
        Assert.Equal(GemmNarrow256.IsSupported, GemmNarrow256.Applies<double>(2, 4));
        Assert.False(GemmNarrow256.Applies<float>(2, 7));
        Assert.False(GemmNarrow256.Applies<double>(3, 50));
    }
}
