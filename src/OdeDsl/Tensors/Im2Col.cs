using System.Numerics;

namespace OdeDsl.Tensors;

/// <summary>
/// im2col for one sample: col[(ci, ky, kx), (oy, ox)] = x[ci, oy·stride − pad + ky, ox·stride − pad + kx]
/// (zero outside the image), and its adjoint col2im which adds each column entry back to its pixel.
/// </summary>
internal static class Im2Col
{
    public static void Gather<T>(in Conv2dShape s, ReadOnlySpan<T> x, Span<T> col)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = s.OutHeight, ow = s.OutWidth, h = s.Height, w = s.Width, stride = s.Stride, pad = s.Padding;
        int row = 0;
        for (int ci = 0; ci < s.InChannels; ci++)
        {
            var plane = x.Slice(ci * h * w, h * w);
            for (int ky = 0; ky < s.KernelHeight; ky++)
            {
                for (int kx = 0; kx < s.KernelWidth; kx++, row++)
                {
                    var dst = col.Slice(row * oh * ow, oh * ow);
                    for (int oy = 0; oy < oh; oy++)
                    {
                        int iy = oy * stride - pad + ky;
                        var dstRow = dst.Slice(oy * ow, ow);
                        if ((uint)iy >= (uint)h) { dstRow.Clear(); continue; }
                        var src = plane.Slice(iy * w, w);
                        if (stride == 1)
                        {
                            // ix = ox − pad + kx: copy the in-range middle, zero the two borders.
                            int first = Math.Max(0, pad - kx), last = Math.Min(ow, w + pad - kx);
                            if (last <= first) { dstRow.Clear(); continue; }
                            dstRow[..first].Clear();
                            src.Slice(first - pad + kx, last - first).CopyTo(dstRow[first..last]);
                            dstRow[last..].Clear();
                        }
                        else
                        {
                            for (int ox = 0; ox < ow; ox++)
                            {
                                int ix = ox * stride - pad + kx;
                                dstRow[ox] = (uint)ix < (uint)w ? src[ix] : T.Zero;
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>x = col2im(col): x is overwritten with the sum of every column entry that reads each pixel.</summary>
    public static void Scatter<T>(in Conv2dShape s, ReadOnlySpan<T> col, Span<T> x)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = s.OutHeight, ow = s.OutWidth, h = s.Height, w = s.Width, stride = s.Stride, pad = s.Padding;
        x[..(s.InChannels * h * w)].Clear();
        int row = 0;
        for (int ci = 0; ci < s.InChannels; ci++)
        {
            var plane = x.Slice(ci * h * w, h * w);
            for (int ky = 0; ky < s.KernelHeight; ky++)
            {
                for (int kx = 0; kx < s.KernelWidth; kx++, row++)
                {
                    var src = col.Slice(row * oh * ow, oh * ow);
                    for (int oy = 0; oy < oh; oy++)
                    {
                        int iy = oy * stride - pad + ky;
                        if ((uint)iy >= (uint)h) continue;
                        var dst = plane.Slice(iy * w, w);
                        var srcRow = src.Slice(oy * ow, ow);
                        if (stride == 1)
                        {
                            int first = Math.Max(0, pad - kx), last = Math.Min(ow, w + pad - kx);
                            if (last <= first) continue;
                            var d = dst.Slice(first - pad + kx, last - first);
                            System.Numerics.Tensors.TensorPrimitives.Add(d, srcRow[first..last], d);
                        }
                        else
                        {
                            for (int ox = 0; ox < ow; ox++)
                            {
                                int ix = ox * stride - pad + kx;
                                if ((uint)ix < (uint)w) dst[ix] += srcRow[ox];
                            }
                        }
                    }
                }
            }
        }
    }
}
