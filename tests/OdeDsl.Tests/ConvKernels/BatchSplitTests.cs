using System.Numerics;
using OdeDsl.Tensors;
using OdeDsl.Tests.Tensors;

namespace OdeDsl.Tests.ConvKernels;

/// <summary>
/// ReLU and GroupNorm calls split over two threads (BatchSplit: the downsampling's whole-batch calls) against the same
/// calls on one thread: every output, GroupNorm's accumulated γ/β gradients included, bit for bit; odd batches and sizes.
/// </summary>
[Collection(nameof(GemmGlobalSettings))] // switches TwoThreadLoop.Enabled and BatchSplit.MinElements
public class BatchSplitTests
{
    private static TResult Split<TResult>(bool split, Func<TResult> body)
    {
        bool enabled = TwoThreadLoop.Enabled;
        long minF = BatchSplit<float>.MinElements, minD = BatchSplit<double>.MinElements;
        TwoThreadLoop.Enabled = split;
        BatchSplit<float>.MinElements = BatchSplit<double>.MinElements = split ? 1 : long.MaxValue;
        try { return body(); }
        finally
        {
            TwoThreadLoop.Enabled = enabled;
            BatchSplit<float>.MinElements = minF;
            BatchSplit<double>.MinElements = minD;
        }
    }

    [Theory]
    [InlineData(3, 4, 13, 2)]
    [InlineData(7, 6, 9, 3)]
    [InlineData(2, 64, 36, 32)]
    public void GroupNormSplitEqualsOneThread(int batch, int channels, int spatial, int groups)
    {
        Check<float>();
        Check<double>();

        void Check<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            int size = batch * channels * spatial;
            var x = TensorTestData.Random<T>(size, 1);
            var gamma = TensorTestData.Random<T>(channels, 2);
            var beta = TensorTestData.Random<T>(channels, 3);
            var gy = TensorTestData.Random<T>(size, 4);
            var gg0 = TensorTestData.Random<T>(channels, 5); // accumulated into: start from non-zero values
            var gb0 = TensorTestData.Random<T>(channels, 6);

            (T[], T[], T[], T[], T[], int) Run(bool split) => Split(split, () =>
            {
                var y = new T[size];
                var stats = new T[2 * batch * groups];
                var gx = new T[size];
                T[] gg = (T[])gg0.Clone(), gb = (T[])gb0.Clone();
                int calls = BatchSplit<T>.SplitCalls;
                GroupNorm.Forward<T>(batch, channels, spatial, groups, T.CreateChecked(1e-5), x, gamma, beta, y, stats);
                GroupNorm.Backward<T>(batch, channels, spatial, groups, x, gamma, stats, gy, gx, gg, gb);
                return (y, stats, gx, gg, gb, BatchSplit<T>.SplitCalls - calls);
            });

            var one = Run(false);
            var two = Run(true);
            Assert.Equal(0, one.Item6);
            Assert.Equal(2, two.Item6);
            Assert.Equal(one.Item1, two.Item1);
            Assert.Equal(one.Item2, two.Item2);
            Assert.Equal(one.Item3, two.Item3);
            Assert.Equal(one.Item4, two.Item4);
            Assert.Equal(one.Item5, two.Item5);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(31)]
    [InlineData(1000)]
    public void ReluSplitEqualsOneThread(int length)
    {
        var x = TensorTestData.Random<float>(length, 7);
        var g = TensorTestData.Random<float>(length, 8);
        var acc = TensorTestData.Random<float>(length, 9);

        (float[], float[], float[]) Run(bool split) => Split(split, () =>
        {
            var y = new float[length];
            var gx = new float[length];
            var ga = (float[])acc.Clone();
            Activations.Relu<float>(x, y);
            Activations.ReluBackward<float>(x, g, gx);
            Activations.ReluBackwardAdd<float>(x, g, ga);
            return (y, gx, ga);
        });

        var one = Run(false);
        var two = Run(true);
        Assert.Equal(one.Item1, two.Item1);
        Assert.Equal(one.Item2, two.Item2);
        Assert.Equal(one.Item3, two.Item3);
        Assert.All(one.Item1, v => Assert.True(v >= 0));
    }
}
