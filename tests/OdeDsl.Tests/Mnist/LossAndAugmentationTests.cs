using OdeDsl.Data;
using OdeDsl.Training;

namespace OdeDsl.Tests.Mnist;

public sealed class LossAndAugmentationTests
{
    [Fact]
    public void CrossEntropyMatchesItsDefinitionAndFiniteDifferences()
    {
        double[] logits = [0.5, -1.0, 2.0, 0.0, 3.0, 1.0, -2.0, 0.25];
        byte[] labels = [2, 1];
        var grad = new double[logits.Length];
        double loss = SoftmaxCrossEntropy.Compute<double>(logits, labels, 4, grad, out int correct);
        double Row(int b) => Math.Log(Enumerable.Range(0, 4).Sum(k => Math.Exp(logits[4 * b + k]))) - logits[4 * b + labels[b]];
        Assert.Equal((Row(0) + Row(1)) / 2, loss, 12);
        Assert.Equal(1, correct); // row 0's arg-max is 2 (its label); row 1's is 0, not 1
        for (int i = 0; i < logits.Length; i++)
        {
            const double h = 1e-6;
            double[] up = (double[])logits.Clone(), down = (double[])logits.Clone();
            up[i] += h; down[i] -= h;
            double fd = (SoftmaxCrossEntropy.Compute<double>(up, labels, 4, default, out _) - SoftmaxCrossEntropy.Compute<double>(down, labels, 4, default, out _)) / (2 * h);
            Assert.Equal(fd, grad[i], 8);
        }
    }

    [Fact]
    public void CrossEntropyIsStableForHugeLogitsAndChecksItsArguments()
    {
        float[] logits = [1e4f, 0f, -1e4f];
        var grad = new float[3];
        Assert.Equal(0.0, SoftmaxCrossEntropy.Compute<float>(logits, [0], 3, grad, out _), 6);
        Assert.Equal(1e4, SoftmaxCrossEntropy.Compute<float>(logits, [1], 3, grad, out _), 3);
        Assert.All(grad, g => Assert.True(float.IsFinite(g)));
        Assert.Throws<ArgumentOutOfRangeException>(() => SoftmaxCrossEntropy.Compute<float>(logits, [3], 3, grad, out _));
        Assert.Throws<ArgumentException>(() => SoftmaxCrossEntropy.Compute<float>(logits, [0, 1], 3, grad, out _));
    }

    [Fact]
    public void FillScalesToUnitRangeAndRandomCropShiftsWithinThePadding()
    {
        const int side = 6, p = 2;
        var pixels = new byte[2 * side * side];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(1 + i % 250);
        var images = new IdxImages(2, side, side, pixels);
        var batch = new float[2 * side * side];
        var rng = new Rng(1);
        ImageBatch.Fill<float>(images, [1, 0], batch, 0, ref rng);
        Assert.Equal(pixels[side * side] / 255f, batch[0]);
        Assert.Equal(pixels[0] / 255f, batch[side * side]);

        var seen = new HashSet<(int, int)>();
        var one = new float[side * side];
        for (int trial = 0; trial < 400; trial++)
        {
            ImageBatch.Fill<float>(images, [0], one, p, ref rng);
            // Exactly one shift (dy, dx) in [−p, p]² explains the crop: out(r, c) = in(r + dy, c + dx), zero outside.
            var match = (from dy in Enumerable.Range(-p, 2 * p + 1)
                         from dx in Enumerable.Range(-p, 2 * p + 1)
                         where Enumerable.Range(0, side * side).All(k =>
                         {
                             int r = k / side + dy, c = k % side + dx;
                             float expected = r is >= 0 and < side && c is >= 0 and < side ? pixels[r * side + c] / 255f : 0f;
                             return one[k] == expected;
                         })
                         select (dy, dx)).ToList();
            Assert.Single(match);
            seen.Add(match[0]);
        }
        Assert.Equal(25, seen.Count); // every offset occurs (400 draws of 25 equally likely ones)
    }
}
