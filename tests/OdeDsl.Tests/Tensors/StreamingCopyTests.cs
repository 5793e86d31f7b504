using OdeDsl.Tensors;

namespace OdeDsl.Tests.Tensors;

/// <summary>The non-temporal copy of backprop's kept activations: every length and destination alignment, element by element.</summary>
public class StreamingCopyTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1000)]        // under the streaming threshold: an ordinary copy
    [InlineData(4096)]
    [InlineData(16411)]       // a ragged tail after the 128-byte loop
    public void CopiesEveryElementAtEveryDestinationOffset(int length)
    {
        var rng = new OdeDsl.Training.Rng(5);
        var source = new float[length];
        for (int i = 0; i < length; i++) source[i] = (float)rng.NextGaussian();
        for (int offset = 0; offset < 9; offset++)   // 4-byte steps through the destination's 32-byte alignment
        {
            var destination = new float[length + 16];
            StreamingCopy.Copy<float>(source, destination.AsSpan(offset, length + 1));
            Assert.True(source.AsSpan().SequenceEqual(destination.AsSpan(offset, length)), $"offset {offset}");
            Assert.Equal(0f, destination[offset + length]);   // nothing written past the source's length
            Assert.True(destination.AsSpan(0, offset).IndexOfAnyExcept(0f) < 0);
        }
        var doubles = source.Select(v => (double)v).ToArray();
        var copy = new double[length];
        StreamingCopy.Copy<double>(doubles, copy);
        Assert.Equal(doubles, copy);
        Assert.Throws<ArgumentException>(() => StreamingCopy.Copy<float>(new float[2], new float[1]));
    }
}
