using System.Numerics;

namespace OdeDsl.Tensors;

/// <summary>
/// im2col for one sample: col[(ci, ky, kx), (oy, ox)] = x[ci, oy·stride − pad + ky, ox·stride − pad + kx]
/// (zero outside the image), written into columns of a matrix with row stride ld (several samples side by side),
/// and its adjoint col2im, which adds each column entry back to the pixel it was read from.
/// </summary>
internal static unsafe class Im2Col
{
    public static void Gather<T>(in Conv2dShape s, ReadOnlySpan<T> x, Span<T> col, int ld)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = s.OutHeight, ow = s.OutWidth, h = s.Height, w = s.Width, stride = s.Stride, pad = s.Padding;
        int rows = s.PatchSize;
        if (rows > 0 && col.Length < (rows - 1) * (long)ld + oh * ow) throw new ArgumentException("im2col target too short.", nameof(col));
        fixed (T* px = x, pc = col)
        {
            T* dstRow = pc;
            for (int ci = 0; ci < s.InChannels; ci++)
            {
                T* plane = px + ci * h * w;
                for (int ky = 0; ky < s.KernelHeight; ky++)
                {
                    for (int kx = 0; kx < s.KernelWidth; kx++, dstRow += ld)
                    {
                        // Output columns whose input column ix = ox·stride − pad + kx lies inside the image.
                        int first = Math.Min(ow, CeilDiv(Math.Max(0, pad - kx), stride));
                        int last = Math.Max(first, Math.Min(ow, CeilDiv(w + pad - kx, stride)));
                        T* dst = dstRow;
                        for (int oy = 0; oy < oh; oy++, dst += ow)
                        {
                            int iy = oy * stride - pad + ky;
                            if ((uint)iy >= (uint)h)
                            {
                                for (int ox = 0; ox < ow; ox++) dst[ox] = T.Zero;
                                continue;
                            }
                            T* src = plane + iy * w - pad + kx;
                            int o = 0;
                            for (; o < first; o++) dst[o] = T.Zero;
                            for (; o < last; o++) dst[o] = src[o * stride];
                            for (; o < ow; o++) dst[o] = T.Zero;
                        }
                    }
                }
            }
        }
    }

    /// <summary>x = col2im(col): x is overwritten with the sum of every column entry that reads each pixel.</summary>
    public static void Scatter<T>(in Conv2dShape s, ReadOnlySpan<T> col, int ld, Span<T> x)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = s.OutHeight, ow = s.OutWidth, h = s.Height, w = s.Width, stride = s.Stride, pad = s.Padding;
        int rows = s.PatchSize, planeSize = h * w;
        if (rows > 0 && col.Length < (rows - 1) * (long)ld + oh * ow) throw new ArgumentException("col2im source too short.", nameof(col));
        x[..(s.InChannels * planeSize)].Clear();
        fixed (T* px = x, pc = col)
        {
            T* srcRow = pc;
            for (int ci = 0; ci < s.InChannels; ci++)
            {
                T* plane = px + ci * planeSize;
                for (int ky = 0; ky < s.KernelHeight; ky++)
                {
                    for (int kx = 0; kx < s.KernelWidth; kx++, srcRow += ld)
                    {
                        int first = Math.Min(ow, CeilDiv(Math.Max(0, pad - kx), stride));
                        int last = Math.Max(first, Math.Min(ow, CeilDiv(w + pad - kx, stride)));
                        T* src = srcRow;
                        for (int oy = 0; oy < oh; oy++, src += ow)
                        {
                            int iy = oy * stride - pad + ky;
                            if ((uint)iy >= (uint)h) continue;
                            T* dst = plane + iy * w - pad + kx;
                            for (int o = first; o < last; o++) dst[o * stride] += src[o];
                        }
                    }
                }
            }
        }
    }

    /// <summary>⌈a / b⌉ for b &gt; 0 and any sign of a.</summary>
    private static int CeilDiv(int a, int b) => a >= 0 ? (a + b - 1) / b : -(-a / b);
}
