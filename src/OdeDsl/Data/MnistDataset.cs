namespace OdeDsl.Data;

/// <summary>One split of MNIST: 28×28 grey images (bytes 0–255) and their digit labels.</summary>
public sealed class MnistSplit
{
    public MnistSplit(IdxImages images, byte[] labels, string imagesPath, string labelsPath)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (images.Count != labels.Length)
            throw new IdxFormatException(labelsPath, $"{labels.Length} labels but '{imagesPath}' holds {images.Count} images; the two files do not belong together.");
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] > 9) throw new IdxFormatException(labelsPath, $"label {i} is {labels[i]}; MNIST labels are 0–9.");
        Images = images;
        Labels = labels;
    }

    public IdxImages Images { get; }
    public byte[] Labels { get; }
    public int Count => Labels.Length;
}

/// <summary>The MNIST training (60,000) and test (10,000) sets from the four original IDX files in a folder.</summary>
public sealed class MnistDataset
{
    public static readonly string[] FileNames =
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    private MnistDataset(MnistSplit train, MnistSplit test) { Train = train; Test = test; }

    public MnistSplit Train { get; }
    public MnistSplit Test { get; }

    /// <summary>Reads the four files from <paramref name="folder"/>; throws <see cref="IdxFormatException"/> naming any bad file.</summary>
    public static MnistDataset Load(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        return new MnistDataset(LoadSplit(folder, FileNames[0], FileNames[1]), LoadSplit(folder, FileNames[2], FileNames[3]));
    }

    private static MnistSplit LoadSplit(string folder, string imagesName, string labelsName)
    {
        string ip = Path.Combine(folder, imagesName), lp = Path.Combine(folder, labelsName);
        var images = IdxFile.ReadImages(ip);
        if (images.Rows != 28 || images.Columns != 28)
            throw new IdxFormatException(ip, $"images are {images.Rows}×{images.Columns}; MNIST's are 28×28.");
        return new MnistSplit(images, IdxFile.ReadLabels(lp), ip, lp);
    }
}
