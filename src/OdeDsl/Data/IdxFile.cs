using System.Buffers.Binary;

namespace OdeDsl.Data;

/// <summary>An IDX file (LeCun's MNIST format) could not be read: names the file, what is wrong and what to do.</summary>
public sealed class IdxFormatException(string path, string problem)
    : IOException($"IDX file '{path}': {problem}")
{
    public string FilePath { get; } = path;
    public string Problem { get; } = problem;
}

/// <summary>Unsigned-byte images, row-major [Count, Rows, Columns].</summary>
public sealed record IdxImages(int Count, int Rows, int Columns, byte[] Pixels)
{
    public int PixelsPerImage => Rows * Columns;
    public ReadOnlySpan<byte> Image(int i) => Pixels.AsSpan(i * PixelsPerImage, PixelsPerImage);
}

/// <summary>
/// Reads the IDX files of MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian header, magic 0x00000803 for
/// unsigned-byte 3-D arrays (images) and 0x00000801 for 1-D arrays (labels), then the dimensions as u32, then the data.
/// Every way a file can be wrong (missing, truncated, trailing bytes, wrong magic) throws <see cref="IdxFormatException"/>.
/// </summary>
public static class IdxFile
{
    public const int ImagesMagic = 0x0803, LabelsMagic = 0x0801;

    public static IdxImages ReadImages(string path)
    {
        byte[] data = ReadAll(path);
        int[] dims = Header(path, data, ImagesMagic, 3, "images (idx3-ubyte)");
        long expected = 16 + (long)dims[0] * dims[1] * dims[2];
        CheckLength(path, data, expected, $"{dims[0]} images of {dims[1]}×{dims[2]}");
        return new IdxImages(dims[0], dims[1], dims[2], data.AsSpan(16).ToArray());
    }

    public static byte[] ReadLabels(string path)
    {
        byte[] data = ReadAll(path);
        int[] dims = Header(path, data, LabelsMagic, 1, "labels (idx1-ubyte)");
        CheckLength(path, data, 8 + (long)dims[0], $"{dims[0]} labels");
        return data.AsSpan(8).ToArray();
    }

    /// <summary>Writes an unsigned-byte IDX file (images: dims = [count, rows, cols]; labels: dims = [count]).</summary>
    public static void Write(string path, ReadOnlySpan<int> dims, ReadOnlySpan<byte> data)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (dims.Length is < 1 or > 3) throw new ArgumentException("IDX files here have 1 to 3 dimensions.", nameof(dims));
        long n = 1;
        foreach (int d in dims) { ArgumentOutOfRangeException.ThrowIfNegative(d); n *= d; }
        if (n != data.Length) throw new ArgumentException($"The dimensions hold {n} bytes; data has {data.Length}.", nameof(data));
        var bytes = new byte[4 + 4 * dims.Length + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, 0x0800 | dims.Length);
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dims[i]);
        data.CopyTo(bytes.AsSpan(4 + 4 * dims.Length));
        Training.AtomicFile.WriteAllBytes(path, bytes);
    }

    private static byte[] ReadAll(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
            throw new IdxFormatException(path, "the file does not exist (fetch MNIST again, or point --data at a folder holding the four IDX files).");
        return File.ReadAllBytes(path);
    }

    private static int[] Header(string path, byte[] data, int magic, int rank, string what)
    {
        int headerLength = 4 + 4 * rank;
        int found = data.Length >= 4 ? BinaryPrimitives.ReadInt32BigEndian(data) : -1;
        if (data.Length >= 4 && found != magic)
            throw new IdxFormatException(path, $"magic number 0x{found:X8}, expected 0x{magic:X8} for {what}; is it another file, or still gzip-compressed?");
        if (data.Length < headerLength)
            throw new IdxFormatException(path, $"truncated: {data.Length} bytes, shorter than the {headerLength}-byte header of {what}.");
        var dims = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4 + 4 * i));
            if (dims[i] < 0) throw new IdxFormatException(path, $"dimension {i} is negative ({dims[i]}).");
        }
        return dims;
    }

    private static void CheckLength(string path, byte[] data, long expected, string what)
    {
        if (data.Length < expected)
            throw new IdxFormatException(path, $"truncated: the header promises {what} ({expected} bytes) but the file has {data.Length}; delete it and fetch again.");
        if (data.Length > expected)
            throw new IdxFormatException(path, $"{data.Length - expected} bytes after the {what} the header promises; the file is corrupt.");
    }
}
