using System.Numerics;
using System.Runtime.Intrinsics;

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
        if (Same<T>(s))
        {
            if (x.Length < s.InChannels * h * w) throw new ArgumentException("im2col source too short.", nameof(x));
            fixed (T* px = x, pc = col) Im2ColSame.Gather(s, (float*)px, (float*)pc, ld);
            return;
        }
        if (SmallStrideOne<T>(s))
        {
            GatherSmall(s, x, col, ld);
            return;
        }
        if (Planes<T>(s))
        {
            if (x.Length < s.InChannels * h * w) throw new ArgumentException("im2col source too short.", nameof(x));
            fixed (T* px = x, pc = col) Im2ColPlanes.Gather(s, (float*)px, (float*)pc, ld);
            return;
        }
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
        if (Same<T>(s))
        {
            if (x.Length < s.InChannels * planeSize) throw new ArgumentException("col2im target too short.", nameof(x));
            fixed (T* px = x, pc = col) Im2ColSame.Scatter(s, (float*)pc, ld, (float*)px);
            return;
        }
        if (SmallStrideOne<T>(s))
        {
            ScatterSmall(s, col, ld, x);
            return;
        }
        if (Planes<T>(s))
        {
            if (x.Length < s.InChannels * planeSize) throw new ArgumentException("col2im target too short.", nameof(x));
            fixed (T* px = x, pc = col) Im2ColPlanes.Scatter(s, (float*)pc, ld, (float*)px);
            return;
        }
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

    /// <summary>Largest zero-padded plane the small stride-1 paths stage on the stack (elements).</summary>
    private const int MaxPaddedPlane = 1024;

    /// <summary>
    /// Stride 1 with output rows no wider than one Vector256 (float: ODE-Net's 6×6 maps): each output row of a column
    /// entry is one vector move from a zero-padded copy of the input plane, instead of a bounds-checked scalar loop.
    /// </summary>
    /// <remarks>2·OutWidth ≥ lanes keeps a full-width store or load of any row but the last inside the sample's columns.</remarks>
    private static bool SmallStrideOne<T>(in Conv2dShape s) where T : unmanaged =>
        SmallPaths && s.Stride == 1 && Vector256.IsHardwareAccelerated
        && s.OutWidth <= Vector256<T>.Count && 2 * s.OutWidth >= Vector256<T>.Count
        && (s.Height + 2 * s.Padding) * (s.Width + 2 * s.Padding) <= MaxPaddedPlane;

    /// <summary>float on AVX-512, stride 1 and a kernel of side 2·pad + 1 (output map = input map): <see cref="Im2ColSame"/>.</summary>
    private static bool Same<T>(in Conv2dShape s) where T : unmanaged =>
        SmallPaths && typeof(T) == typeof(float) && Im2ColSame.Applies(s);

    /// <summary>float, stride 1 or 2, on AVX-512, with a padded plane that fits the stack: <see cref="Im2ColPlanes"/>.</summary>
    private static bool Planes<T>(in Conv2dShape s) where T : unmanaged =>
        SmallPaths && typeof(T) == typeof(float) && Im2ColPlanes.Applies(s);

    /// <summary>Whether the small stride-1 and the plane paths may be used; tests switch them off on their own thread to compare.</summary>
    [ThreadStatic] internal static bool SmallPathsOff;

    private static bool SmallPaths => !SmallPathsOff;

    private static void GatherSmall<T>(in Conv2dShape s, ReadOnlySpan<T> x, Span<T> col, int ld)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = s.OutHeight, ow = s.OutWidth, h = s.Height, w = s.Width, pad = s.Padding, pw = w + 2 * pad, plane = h * w;
        int lanes = Vector256<T>.Count;
        T* padded = stackalloc T[MaxPaddedPlane + Vector256<T>.Count];
        new Span<T>(padded, MaxPaddedPlane + lanes).Clear(); // the border (and the slack a full-width load may touch) stays zero
        fixed (T* px = x, pc = col)
        {
            T* dstRow = pc;
            for (int ci = 0; ci < s.InChannels; ci++)
            {
                T* src = px + ci * plane;
                // Rows of at most a few vectors: element moves beat one memmove call per row.
                for (int iy = 0; iy < h; iy++)
                {
                    T* from = src + iy * w, to = padded + (iy + pad) * pw + pad;
                    for (int i = 0; i < w; i++) to[i] = from[i];
                }
                for (int ky = 0; ky < s.KernelHeight; ky++)
                    for (int kx = 0; kx < s.KernelWidth; kx++, dstRow += ld)
                    {
                        T* p = padded + ky * pw + kx;
                        // Full-width stores run ow ≤ lanes elements on into the next output row, which the next store
                        // rewrites; the last row is copied exactly, so nothing outside this sample's columns is touched.
                        int oy = 0;
                        for (; oy < oh - 1; oy++) Vector256.Load(p + oy * pw).Store(dstRow + oy * ow);
                        for (int o = 0; o < ow; o++) dstRow[oy * ow + o] = p[oy * pw + o];
                    }
            }
        }
    }

    private static void ScatterSmall<T>(in Conv2dShape s, ReadOnlySpan<T> col, int ld, Span<T> x)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = s.OutHeight, ow = s.OutWidth, h = s.Height, w = s.Width, pad = s.Padding, pw = w + 2 * pad, plane = h * w;
        int lanes = Vector256<T>.Count, paddedLength = (h + 2 * pad) * pw;
        T* padded = stackalloc T[MaxPaddedPlane + Vector256<T>.Count];
        // Lanes ow… of a full-width load belong to the next output row: masked out before the add.
        var keep = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(ow)).As<int, T>();
        if (lanes != Vector256<int>.Count)
            keep = Vector256.LessThan(Vector256<long>.Indices, Vector256.Create((long)ow)).As<long, T>();
        fixed (T* px = x, pc = col)
        {
            T* srcRow = pc;
            for (int ci = 0; ci < s.InChannels; ci++)
            {
                new Span<T>(padded, paddedLength + lanes).Clear();
                for (int ky = 0; ky < s.KernelHeight; ky++)
                    for (int kx = 0; kx < s.KernelWidth; kx++, srcRow += ld)
                    {
                        T* p = padded + ky * pw + kx;
                        int oy = 0;
                        for (; oy < oh - 1; oy++)
                        {
                            var v = Vector256.Load(p + oy * pw) + (Vector256.Load(srcRow + oy * ow) & keep);
                            v.Store(p + oy * pw); // lanes ≥ ow store back what was loaded
                        }
                        for (int o = 0; o < ow; o++) p[oy * pw + o] += srcRow[oy * ow + o];
                    }
                T* dst = px + ci * plane;
                for (int iy = 0; iy < h; iy++)
                {
                    T* from = padded + (iy + pad) * pw + pad, to = dst + iy * w;
                    for (int i = 0; i < w; i++) to[i] = from[i];
                }
            }
        }
    }
}
