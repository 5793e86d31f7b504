namespace OdeDsl.Tensors;

/// <summary>
/// Geometry of a 2-D convolution (PyTorch semantics: cross-correlation, symmetric zero padding, no dilation,
/// no groups). Layouts: input [Batch, InChannels, Height, Width], weight [OutChannels, InChannels,
/// KernelHeight, KernelWidth], output [Batch, OutChannels, OutHeight, OutWidth], all row-major.
/// </summary>
public readonly record struct Conv2dShape(int Batch, int InChannels, int Height, int Width, int OutChannels,
    int KernelHeight, int KernelWidth, int Stride, int Padding)
{
    public int OutHeight => (Height + 2 * Padding - KernelHeight) / Stride + 1;
    public int OutWidth => (Width + 2 * Padding - KernelWidth) / Stride + 1;

    public int InputLength => Batch * InChannels * Height * Width;
    public int OutputLength => Batch * OutChannels * OutHeight * OutWidth;
    public int WeightLength => OutChannels * InChannels * KernelHeight * KernelWidth;

    /// <summary>Rows of the im2col matrix: one per (input channel, kernel row, kernel column).</summary>
    public int PatchSize => InChannels * KernelHeight * KernelWidth;

    /// <summary>Output positions per sample (columns of the im2col matrix).</summary>
    public int OutSpatial => OutHeight * OutWidth;

    /// <summary>
    /// Samples whose im2col columns are laid side by side for one GEMM, so that n = SamplesPerGemm·OutSpatial fills
    /// whole vector panels (≈ 256 columns; a 6×6 output alone would leave n = 36).
    /// </summary>
    public int SamplesPerGemm => Math.Clamp((256 + OutSpatial - 1) / Math.Max(1, OutSpatial), 1, Math.Max(1, Batch));

    /// <summary>
    /// Scratch elements the Conv2d kernels need: the im2col matrix [PatchSize, G·OutSpatial] and an output-shaped
    /// staging block [OutChannels, G·OutSpatial] for G = <see cref="SamplesPerGemm"/> samples.
    /// </summary>
    public int ScratchLength => (PatchSize + OutChannels) * SamplesPerGemm * OutSpatial;

    /// <summary>The constructor arguments only (the record's ToString would evaluate OutHeight, which divides by Stride).</summary>
    private string Describe() =>
        $"[B={Batch}, Cin={InChannels}, H={Height}, W={Width}] → Cout={OutChannels}, kernel {KernelHeight}×{KernelWidth}, stride {Stride}, padding {Padding}";

    /// <summary>Throws <see cref="ArgumentException"/> with a precise message when the geometry is invalid.</summary>
    public void Validate()
    {
        if (Batch < 0 || InChannels <= 0 || OutChannels <= 0 || Height <= 0 || Width <= 0)
            throw new ArgumentException($"Conv2d needs Batch ≥ 0 and positive channels and sizes; got {Describe()}.");
        if (KernelHeight <= 0 || KernelWidth <= 0 || Stride <= 0 || Padding < 0)
            throw new ArgumentException($"Conv2d needs a positive kernel and stride and a non-negative padding; got {Describe()}.");
        if (Height + 2 * Padding < KernelHeight || Width + 2 * Padding < KernelWidth)
            throw new ArgumentException($"Conv2d kernel {KernelHeight}×{KernelWidth} is larger than the padded input {Height + 2 * Padding}×{Width + 2 * Padding}.");
    }
}
