using System.Numerics;
using OdeDsl.Training;

namespace OdeDsl.Data;

/// <summary>
/// Turns byte images into a batch of scalars in [0, 1] (torchvision's ToTensor), optionally through a random crop with
/// zero padding (torchvision's RandomCrop(size, padding=p): pad p zeros on every side, then cut out a window of the
/// original size at a uniformly drawn offset in [0, 2p]², per image).
/// </summary>
public static class ImageBatch
{
    /// <summary>
    /// Writes images <paramref name="indices"/> of <paramref name="images"/> to <paramref name="batch"/>
    /// ([indices.Length, rows·cols], single channel), scaled to [0, 1]. With <paramref name="cropPadding"/> &gt; 0 each image is
    /// randomly shifted by up to that many pixels in each direction (zeros shifted in), drawing two integers from <paramref name="rng"/>.
    /// </summary>
    public static void Fill<T>(IdxImages images, ReadOnlySpan<int> indices, Span<T> batch, int cropPadding, ref Rng rng)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentOutOfRangeException.ThrowIfNegative(cropPadding);
        int size = images.PixelsPerImage;
        if (batch.Length != indices.Length * size)
            throw new ArgumentException($"batch has {batch.Length} elements; {indices.Length} images of {size} pixels need {indices.Length * size}.", nameof(batch));
        T scale = T.CreateChecked(255); // divided, not multiplied by 1/255, so values equal ToTensor's x / 255 exactly
        for (int b = 0; b < indices.Length; b++)
        {
            int i = indices[b];
            if ((uint)i >= (uint)images.Count)
                throw new ArgumentOutOfRangeException(nameof(indices), i, $"image index outside [0, {images.Count}).");
            var src = images.Image(i);
            var dst = batch.Slice(b * size, size);
            if (cropPadding == 0)
            {
                for (int k = 0; k < size; k++) dst[k] = T.CreateChecked(src[k]) / scale;
                continue;
            }
            // Offset (oy, ox) into the padded image; output (r, c) reads original (r + oy − p, c + ox − p).
            int oy = rng.NextInt(2 * cropPadding + 1) - cropPadding, ox = rng.NextInt(2 * cropPadding + 1) - cropPadding;
            Shift(src, dst, images.Rows, images.Columns, oy, ox, scale);
        }
    }

    private static void Shift<T>(ReadOnlySpan<byte> src, Span<T> dst, int rows, int cols, int dy, int dx, T scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        dst.Clear();
        int c0 = Math.Max(0, -dx), c1 = Math.Min(cols, cols - dx);
        for (int r = 0; r < rows; r++)
        {
            int sr = r + dy;
            if ((uint)sr >= (uint)rows) continue;
            for (int c = c0; c < c1; c++) dst[r * cols + c] = T.CreateChecked(src[sr * cols + c + dx]) / scale;
        }
    }
}
