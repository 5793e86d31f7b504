using System.Buffers.Binary;
using OdeDsl.Data;

namespace OdeDsl.Tests.Mnist;

public sealed class IdxFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("odedsl-idx-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string P(string name) => Path.Combine(_dir, name);

    private static byte[] Pixels(int n) => Enumerable.Range(0, n).Select(i => (byte)(i * 7 % 256)).ToArray();

    [Fact]
    public void ReadsWhatWriteWrote()
    {
        var pixels = Pixels(3 * 4 * 5);
        IdxFile.Write(P("img"), [3, 4, 5], pixels);
        IdxFile.Write(P("lab"), [3], [7, 0, 9]);
        var images = IdxFile.ReadImages(P("img"));
        Assert.Equal((3, 4, 5), (images.Count, images.Rows, images.Columns));
        Assert.Equal(pixels, images.Pixels);
        Assert.Equal(pixels.AsSpan(20, 20).ToArray(), images.Image(1).ToArray());
        Assert.Equal([7, 0, 9], IdxFile.ReadLabels(P("lab")));
        // The header is big-endian with magic 0x00000803, as in LeCun's files.
        byte[] raw = File.ReadAllBytes(P("img"));
        Assert.Equal(0x0803, BinaryPrimitives.ReadInt32BigEndian(raw));
        Assert.Equal(3, BinaryPrimitives.ReadInt32BigEndian(raw.AsSpan(4)));
    }

    [Fact]
    public void MissingFileNamesTheFile()
    {
        var e = Assert.Throws<IdxFormatException>(() => IdxFile.ReadImages(P("nope")));
        Assert.Equal(P("nope"), e.FilePath);
        Assert.Contains("does not exist", e.Message);
        Assert.Contains("--data", e.Message);
    }

    [Fact]
    public void TruncatedDataIsAnError()
    {
        IdxFile.Write(P("img"), [2, 3, 3], Pixels(18));
        byte[] raw = File.ReadAllBytes(P("img"));
        File.WriteAllBytes(P("short"), raw[..^1]);
        var e = Assert.Throws<IdxFormatException>(() => IdxFile.ReadImages(P("short")));
        Assert.Contains("truncated", e.Message);
        Assert.Contains(P("short"), e.Message);
        File.WriteAllBytes(P("header"), raw[..10]);
        Assert.Contains("header", Assert.Throws<IdxFormatException>(() => IdxFile.ReadImages(P("header"))).Message);
        File.WriteAllBytes(P("long"), [.. raw, 1, 2]);
        Assert.Contains("2 bytes after", Assert.Throws<IdxFormatException>(() => IdxFile.ReadImages(P("long"))).Message);
    }

    [Fact]
    public void WrongMagicIsAnError()
    {
        IdxFile.Write(P("lab"), [2], [1, 2]);
        var e = Assert.Throws<IdxFormatException>(() => IdxFile.ReadImages(P("lab")));
        Assert.Contains("magic number 0x00000801, expected 0x00000803", e.Message);
        File.WriteAllBytes(P("gz"), [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        Assert.Contains("gzip", Assert.Throws<IdxFormatException>(() => IdxFile.ReadLabels(P("gz"))).Message);
    }

    [Fact]
    public void DatasetChecksCountsShapesAndLabels()
    {
        void WriteSet(int trainImages, int trainLabels, byte label = 3, int side = 28)
        {
            IdxFile.Write(P("train-images-idx3-ubyte"), [trainImages, side, side], Pixels(trainImages * side * side));
            IdxFile.Write(P("train-labels-idx1-ubyte"), [trainLabels], Enumerable.Repeat(label, trainLabels).ToArray());
            IdxFile.Write(P("t10k-images-idx3-ubyte"), [1, 28, 28], Pixels(784));
            IdxFile.Write(P("t10k-labels-idx1-ubyte"), [1], [5]);
        }
        WriteSet(4, 4);
        var data = MnistDataset.Load(_dir);
        Assert.Equal(4, data.Train.Count);
        Assert.Equal(1, data.Test.Count);
        Assert.Equal(5, data.Test.Labels[0]);
        Assert.True(MnistFetcher.IsComplete(_dir));
        Assert.Equal(Path.GetFullPath(_dir), MnistFetcher.Ensure(_dir)); // complete: no download

        WriteSet(4, 3);
        var e = Assert.Throws<IdxFormatException>(() => MnistDataset.Load(_dir));
        Assert.Equal(P("train-labels-idx1-ubyte"), e.FilePath);
        Assert.Contains("3 labels but", e.Message);

        WriteSet(2, 2, label: 10);
        Assert.Contains("MNIST labels are 0–9", Assert.Throws<IdxFormatException>(() => MnistDataset.Load(_dir)).Message);

        WriteSet(2, 2, side: 27);
        Assert.Contains("27×27", Assert.Throws<IdxFormatException>(() => MnistDataset.Load(_dir)).Message);

        WriteSet(2, 2);
        File.Delete(P("t10k-labels-idx1-ubyte"));
        Assert.False(MnistFetcher.IsComplete(_dir));
        Assert.Equal(P("t10k-labels-idx1-ubyte"), Assert.Throws<IdxFormatException>(() => MnistDataset.Load(_dir)).FilePath);
    }

    [Fact]
    public void UnpackRejectsATarballWithTheWrongChecksum()
    {
        var e = Assert.Throws<IOException>(() => MnistFetcher.Unpack([1, 2, 3], _dir, "test.tgz"));
        Assert.Contains("SHA-1", e.Message);
        Assert.Contains("test.tgz", e.Message);
    }
}
