using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using OdeDsl.Tensors;

namespace OdeDsl.Tests.Tensors;

/// <summary>
/// The fused bias + activation kernels against the unfused pair (RowOps.AddRowVector, then the activation over the
/// whole block), bit for bit: every tanh lane width the kernel can be forced to (Vector512 and Vector256 run in
/// software where not accelerated, with the same IEEE results), the public dispatch, out of place and in place,
/// every column tail from 1 to 70, 1–5 rows, and a few larger blocks (many pending tails per flush).
/// </summary>
public class BiasActivationsTests
{
    private static readonly int[] LargeRows = [300, 517, 1024];
    private static readonly int[] LargeCols = [1, 2, 3, 7, 16, 50, 64, 70];

    private static T[] Data<T>(int n, int seed, double scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(seed);
        var a = new T[n];
        for (int i = 0; i < n; i++) a[i] = T.CreateChecked((rng.NextDouble() * 2 - 1) * scale);
        // the special lanes of the tanh kernels: NaN, ±∞, ±0, the series/exp switch at 0.3, the clamps at 10 and 20
        T[] special = [T.NaN, T.PositiveInfinity, T.NegativeInfinity, T.Zero, T.NegativeZero, T.CreateChecked(0.3),
                       T.CreateChecked(-10.0), T.CreateChecked(25.0), T.CreateChecked(1e-8)];
        for (int i = 0; i < n && i < special.Length * 7; i += 7) a[i] = special[i / 7];
        return a;
    }

    private static void AssertBits<T>(T[] expected, T[] actual, string what) where T : unmanaged
    {
        var e = MemoryMarshal.AsBytes(expected.AsSpan());
        var a = MemoryMarshal.AsBytes(actual.AsSpan());
        if (e.SequenceEqual(a)) return;
        int size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        for (int i = 0; i < expected.Length; i++)
            if (!e.Slice(i * size, size).SequenceEqual(a.Slice(i * size, size)))
                Assert.Fail($"{what}: element {i} is {actual[i]}, the unfused pair gives {expected[i]}");
    }

    private delegate void Fused<T>(int rows, int cols, ReadOnlySpan<T> x, ReadOnlySpan<T> v, Span<T> y);
    private delegate void Unfused<T>(ReadOnlySpan<T> x, Span<T> y);

    /// <summary>
    /// fused(rows, cols, x, v) against activation(AddRowVector(x, v)), out of place and in place. The reference is
    /// computed in the same pinned destination, right before and after the fused call: TensorPrimitives' results
    /// depend on how elements group into vectors (the destination's alignment), and also changed in the last bit when
    /// its code was rejitted at tier 1 (seen with tiered compilation on), so the fair reference for those paths is the
    /// pair at the same address, taken when it agrees with itself on both sides of the fused call (it can tier up
    /// once, so a retry settles it). Lane-wise kernels (the FastTanh lanes) must also match a reference computed at
    /// another address.
    /// </summary>
    private static void Compare<T>(Fused<T> fused, Unfused<T> activation, int rows, int cols, string what, bool laneWise = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = rows * cols;
        var x = Data<T>(n, rows * 1000 + cols, 4.0);
        var v = Data<T>(cols, cols, 1.5);
        var y = GC.AllocateArray<T>(n, pinned: true);
        foreach (bool inPlace in new[] { false, true })
        {
            T[] Pair()
            {
                if (inPlace) x.CopyTo(y, 0);
                RowOps.AddRowVector<T>(rows, cols, inPlace ? y : x, v, y);
                activation(y, y);
                return y.ToArray();
            }
            for (int attempt = 0; ; attempt++)
            {
                var before = Pair();
                if (inPlace) x.CopyTo(y, 0); else y.AsSpan().Fill(T.CreateChecked(123.0));
                fused(rows, cols, inPlace ? y : x, v, y);
                var actual = y.ToArray();
                var after = Pair();
                if (!MemoryMarshal.AsBytes(before.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(after.AsSpan())) && attempt < 5) continue;
                AssertBits(before, actual, $"{what} {typeof(T).Name} {rows}×{cols}{(inPlace ? " in place" : "")}");
                if (laneWise)
                {
                    var elsewhere = new T[n + 1];
                    RowOps.AddRowVector<T>(rows, cols, x, v, elsewhere.AsSpan(1));
                    activation(elsewhere.AsSpan(1), elsewhere.AsSpan(1));
                    AssertBits(elsewhere[1..], actual, $"{what} {typeof(T).Name} {rows}×{cols} against a reference at another address");
                }
                break;
            }
        }
    }

    private static IEnumerable<(int Rows, int Cols)> Shapes()
    {
        for (int rows = 1; rows <= 5; rows++)
            for (int cols = 1; cols <= 70; cols++) yield return (rows, cols);
        foreach (int rows in LargeRows)
            foreach (int cols in LargeCols) yield return (rows, cols);
    }

    private static Unfused<T> TanhAt<T>(string kernel) where T : unmanaged, IFloatingPointIeee754<T> => kernel switch
    {
        "512" when typeof(T) == typeof(float) => (x, y) => FastTanh512.Apply(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(y)),
        "512" => (x, y) => FastTanh512.Apply(MemoryMarshal.Cast<T, double>(x), MemoryMarshal.Cast<T, double>(y)),
        "256" when typeof(T) == typeof(float) => (x, y) => FastTanh.Apply(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(y)),
        "256" => (x, y) => FastTanh.Apply(MemoryMarshal.Cast<T, double>(x), MemoryMarshal.Cast<T, double>(y)),
        _ => (x, y) => TensorPrimitives.Tanh(x, y),
    };

    private static void TanhAtWidth<T>(string kernel) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int bits = kernel == "512" ? 512 : kernel == "256" ? 256 : 0;
        foreach (var (rows, cols) in Shapes())
            Compare<T>((r, c, x, v, y) => BiasActivations.Tanh(bits, r, c, x, v, y), TanhAt<T>(kernel), rows, cols, "tanh@" + kernel, laneWise: bits != 0);
    }

    [Theory]
    [InlineData("512")]
    [InlineData("256")]
    [InlineData("tensorprimitives")]
    public void TanhMatchesAddRowVectorThenTanhAtEveryWidth(string kernel)
    {
        TanhAtWidth<float>(kernel);
        TanhAtWidth<double>(kernel);
    }

    [Fact]
    public void PublicKernelsMatchTheUnfusedPairOnThisMachine()
    {
        foreach (var (rows, cols) in Shapes())
        {
            Compare<float>(BiasActivations.Tanh, Activations.Tanh, rows, cols, "tanh", laneWise: Activations.FastTanhBits != 0);
            Compare<double>(BiasActivations.Tanh, Activations.Tanh, rows, cols, "tanh", laneWise: Activations.FastTanhBits != 0);
            Compare<float>(BiasActivations.Sigmoid, Activations.Sigmoid, rows, cols, "sigmoid");
            Compare<double>(BiasActivations.Sigmoid, Activations.Sigmoid, rows, cols, "sigmoid");
            Compare<float>(BiasActivations.Exp, Elementwise.Exp, rows, cols, "exp");
            Compare<double>(BiasActivations.Exp, Elementwise.Exp, rows, cols, "exp");
        }
    }

    [Fact]
    public void EmptyBlocksAndBadLengths()
    {
        BiasActivations.Tanh<double>(0, 50, [], new double[50], []);
        BiasActivations.Sigmoid<float>(3, 0, [], [], []);
        Assert.Throws<ArgumentException>(() => BiasActivations.Tanh<double>(2, 3, new double[5], new double[3], new double[6]));
        Assert.Throws<ArgumentException>(() => BiasActivations.Tanh<double>(2, 3, new double[6], new double[2], new double[6]));
        Assert.Throws<ArgumentException>(() => BiasActivations.Sigmoid<float>(2, 3, new float[6], new float[3], new float[5]));
        Assert.Throws<ArgumentOutOfRangeException>(() => BiasActivations.Exp<float>(-1, 3, new float[6], new float[3], new float[6]));
    }

    [Fact]
    public void DoesNotAllocate()
    {
        var x = Data<double>(1024 * 50, 1, 3.0);
        var v = Data<double>(50, 2, 1.0);
        var y = new double[x.Length];
        var xf = Data<float>(1024 * 50, 3, 3.0);
        var vf = Data<float>(50, 4, 1.0);
        var yf = new float[xf.Length];
        void All()
        {
            BiasActivations.Tanh<double>(1024, 50, x, v, y);
            BiasActivations.Tanh<float>(1024, 50, xf, vf, yf);
            BiasActivations.Tanh<double>(7, 3, x, v, y);
            BiasActivations.Sigmoid<double>(1024, 50, x, v, y);
            BiasActivations.Exp<float>(1024, 50, xf, vf, yf);
        }
        AllocationAssert.NoneWithin(All);
    }
}
