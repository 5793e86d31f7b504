using System.Numerics;

namespace OdeDsl.Tensors;

/// <summary>
/// Average pooling on [batch, channels, height, width] (PyTorch <c>AvgPool2d(kernel, stride)</c> with no padding,
/// floor output size) and global average pooling [batch, channels, h, w] → [batch, channels]
/// (<c>AdaptiveAvgPool2d(1)</c>). Backward passes write (not accumulate) the input gradient.
/// </summary>
public static class Pooling
{
    public static int PooledSize(int size, int kernel, int stride) => (size - kernel) / stride + 1;

    public static void AvgPool2d<T>(int batch, int channels, int height, int width, int kernel, int stride,
        ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (oh, ow) = ValidatePool(batch, channels, height, width, kernel, stride);
        int planes = batch * channels;
        Require(x.Length, planes * height * width, nameof(x));
        Require(y.Length, planes * oh * ow, nameof(y));
        T scale = T.One / T.CreateChecked(kernel * kernel);
        for (int p = 0; p < planes; p++)
        {
            var xp = x.Slice(p * height * width, height * width);
            var yp = y.Slice(p * oh * ow, oh * ow);
            for (int oy = 0; oy < oh; oy++)
            {
                for (int ox = 0; ox < ow; ox++)
                {
                    T sum = T.Zero;
                    for (int ky = 0; ky < kernel; ky++)
                    {
                        var row = xp.Slice((oy * stride + ky) * width + ox * stride, kernel);
                        for (int kx = 0; kx < kernel; kx++) sum += row[kx];
                    }
                    yp[oy * ow + ox] = sum * scale;
                }
            }
        }
    }

    /// <summary>gradX = AvgPool2dᵀ(gradY): each output gradient spread evenly over its window (written).</summary>
    public static void AvgPool2dBackward<T>(int batch, int channels, int height, int width, int kernel, int stride,
        ReadOnlySpan<T> gradY, Span<T> gradX)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (oh, ow) = ValidatePool(batch, channels, height, width, kernel, stride);
        int planes = batch * channels;
        Require(gradY.Length, planes * oh * ow, nameof(gradY));
        Require(gradX.Length, planes * height * width, nameof(gradX));
        T scale = T.One / T.CreateChecked(kernel * kernel);
        gradX[..(planes * height * width)].Clear();
        for (int p = 0; p < planes; p++)
        {
            var gx = gradX.Slice(p * height * width, height * width);
            var gy = gradY.Slice(p * oh * ow, oh * ow);
            for (int oy = 0; oy < oh; oy++)
            {
                for (int ox = 0; ox < ow; ox++)
                {
                    T share = gy[oy * ow + ox] * scale;
                    for (int ky = 0; ky < kernel; ky++)
                    {
                        var row = gx.Slice((oy * stride + ky) * width + ox * stride, kernel);
                        for (int kx = 0; kx < kernel; kx++) row[kx] += share;
                    }
                }
            }
        }
    }

    /// <summary>y[b, c] = mean over the spatial positions of x[b, c, ·].</summary>
    public static void GlobalAvgPool<T>(int batch, int channels, int spatial, ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int planes = ValidateGlobal(batch, channels, spatial);
        Require(x.Length, planes * spatial, nameof(x));
        Require(y.Length, planes, nameof(y));
        T scale = T.One / T.CreateChecked(spatial);
        for (int p = 0; p < planes; p++)
            y[p] = System.Numerics.Tensors.TensorPrimitives.Sum(x.Slice(p * spatial, spatial)) * scale;
    }

    /// <summary>gradX[b, c, ·] = gradY[b, c] / spatial (written).</summary>
    public static void GlobalAvgPoolBackward<T>(int batch, int channels, int spatial, ReadOnlySpan<T> gradY, Span<T> gradX)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int planes = ValidateGlobal(batch, channels, spatial);
        Require(gradY.Length, planes, nameof(gradY));
        Require(gradX.Length, planes * spatial, nameof(gradX));
        T scale = T.One / T.CreateChecked(spatial);
        for (int p = 0; p < planes; p++) gradX.Slice(p * spatial, spatial).Fill(gradY[p] * scale);
    }

    private static (int OutHeight, int OutWidth) ValidatePool(int batch, int channels, int height, int width, int kernel, int stride)
    {
        ValidateGlobal(batch, channels, height * width);
        if (height <= 0 || width <= 0) throw new ArgumentException($"Pooling needs a positive height and width; got {height}×{width}.");
        if (kernel <= 0 || stride <= 0) throw new ArgumentException($"Pooling needs a positive kernel and stride; got kernel {kernel}, stride {stride}.");
        if (kernel > height || kernel > width) throw new ArgumentException($"Pooling kernel {kernel} is larger than the input {height}×{width}.");
        return (PooledSize(height, kernel, stride), PooledSize(width, kernel, stride));
    }

    private static int ValidateGlobal(int batch, int channels, int spatial)
    {
        if (batch < 0) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch must be non-negative.");
        if (channels <= 0) throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be positive.");
        if (spatial <= 0) throw new ArgumentOutOfRangeException(nameof(spatial), spatial, "spatial must be positive.");
        return batch * channels;
    }

    private static void Require(int actual, int needed, string name)
    {
        if (actual < needed)
            throw new ArgumentException($"{name} has {actual} elements but pooling needs {needed}.", name);
    }
}
