using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OdeDsl.Tensors;

/// <summary>
/// im2col / col2im for float with stride 1 or 2 on AVX-512, through a zero-padded copy of one input plane at a time:
/// each output row of a column entry is one 16-lane load (stride 2: two loads and a two-source permute that keeps the
/// even lanes) and one store, masked at the row's end, where the generic path of <see cref="Im2Col"/> moves one element
/// at a time and tests the image bounds per row and entry. The ODE-Net's downsampling (4×4 stride 2 on 26×26 and
/// 13×13, 3×3 on 28×28) takes this path; the 6×6 maps of its ODE block (3×3, pad 1) take Im2ColSame.
/// </summary>
/// <remarks>
/// col2im adds the column entries into the padded plane in the generic path's order (kernel row, kernel column, output
/// row, output column) and copies the plane's interior out, so every pixel receives the same additions in the same
/// order: the results equal the generic path's bit for bit. The extra lanes it adds are +0 to cells that started at +0
/// and can therefore never hold −0, so they change no bit either.
/// </remarks>
internal static unsafe class Im2ColPlanes
{
    private const int Lanes = 16;

    /// <summary>Largest padded plane with its slack staged on the stack, in floats (16 KiB).</summary>
    private const int MaxBuffer = 4096;

    /// <remarks>
    /// Stride 2 only with output rows over half a vector: at the downsampling's third layer (13×13 → 6×6) the plane path's
    /// col2im was slower than the generic one (51–54 against 26 µs per sample, `conv-kernels --im2col`) and its im2col no
    /// faster, since each row's vector is mostly masked lanes.
    /// </remarks>
    public static bool Applies(in Conv2dShape s) =>
        Avx512F.IsSupported && (s.Stride == 1 || (s.Stride == 2 && s.OutWidth > Lanes / 2)) && BufferLength(s) <= MaxBuffer;

    /// <summary>
    /// The padded plane, (H + 2·pad) × (W + 2·pad), and slack behind it so that every window the row loops read lies inside:
    /// a row starts at most one padded row before the plane's end and reads stride·⌈OutWidth⌉₁₆ + 16 elements from there.
    /// </summary>
    private static int BufferLength(in Conv2dShape s)
    {
        long pw = s.Width + 2L * s.Padding, ph = s.Height + 2L * s.Padding;
        long length = ph * pw + s.Stride * RoundUp(s.OutWidth) + Lanes;
        return length > int.MaxValue ? int.MaxValue : (int)length;
    }

    private static int RoundUp(int n) => (n + Lanes - 1) / Lanes * Lanes;

    /// <summary>Lanes below <paramref name="count"/> all ones.</summary>
    private static Vector512<float> Mask(int count) =>
        Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count)).AsSingle();

    /// <summary>col[(ci, ky, kx), (oy, ox)] = x[ci, oy·stride − pad + ky, ox·stride − pad + kx] (zero outside), rows ld apart.</summary>
    public static void Gather(in Conv2dShape s, float* x, float* col, int ld)
    {
        int h = s.Height, w = s.Width, pad = s.Padding, stride = s.Stride, pw = w + 2 * pad;
        int oh = s.OutHeight, ow = s.OutWidth, kh = s.KernelHeight, kw = s.KernelWidth, length = BufferLength(s);
        float* plane = stackalloc float[length];
        new Span<float>(plane, length).Clear(); // the border and the slack stay zero; CopyIn writes only the interior
        var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var tail = Mask(ow - (RoundUp(ow) - Lanes));
        float* dstRow = col;
        for (int ci = 0; ci < s.InChannels; ci++)
        {
            CopyIn(x + (nint)ci * h * w, h, w, plane + pad * pw + pad, pw);
            for (int ky = 0; ky < kh; ky++)
                for (int kx = 0; kx < kw; kx++, dstRow += ld)
                {
                    float* src = plane + ky * pw + kx, dst = dstRow;
                    for (int oy = 0; oy < oh; oy++, src += stride * pw, dst += ow)
                        for (int c = 0; c < ow; c += Lanes)
                        {
                            var v = stride == 1 ? Vector512.Load(src + c)
                                : Avx512F.PermuteVar16x32x2(Vector512.Load(src + 2 * c), even, Vector512.Load(src + 2 * c + Lanes));
                            if (c + Lanes <= ow) v.Store(dst + c);
                            else Avx512F.MaskStore(dst + c, tail, v);
                        }
                }
        }
    }

    /// <summary>x = col2im(col) (overwritten): each pixel the sum of the column entries that read it.</summary>
    public static void Scatter(in Conv2dShape s, float* col, int ld, float* x)
    {
        int h = s.Height, w = s.Width, pad = s.Padding, stride = s.Stride, pw = w + 2 * pad;
        int oh = s.OutHeight, ow = s.OutWidth, kh = s.KernelHeight, kw = s.KernelWidth, length = BufferLength(s);
        float* plane = stackalloc float[length];
        // Stride 2: an output row's entries go to every other cell; the odd lanes take +0 (index 16 = the zero vector's lane 0).
        var low = Vector512.Create(0, 16, 1, 16, 2, 16, 3, 16, 4, 16, 5, 16, 6, 16, 7, 16);
        var high = Vector512.Create(8, 16, 9, 16, 10, 16, 11, 16, 12, 16, 13, 16, 14, 16, 15, 16);
        var tail = Mask(ow - (RoundUp(ow) - Lanes));
        var zero = Vector512<float>.Zero;
        float* srcRow = col;
        for (int ci = 0; ci < s.InChannels; ci++)
        {
            new Span<float>(plane, length).Clear();
            for (int ky = 0; ky < kh; ky++)
                for (int kx = 0; kx < kw; kx++, srcRow += ld)
                {
                    float* dst = plane + ky * pw + kx, src = srcRow;
                    for (int oy = 0; oy < oh; oy++, dst += stride * pw, src += ow)
                        for (int c = 0; c < ow; c += Lanes)
                        {
                            // Lanes past the row's end are loaded as zero (masked: nothing past the column block is read).
                            var v = c + Lanes <= ow ? Vector512.Load(src + c) : Avx512F.MaskLoad(src + c, tail, zero);
                            if (stride == 1)
                            {
                                (Vector512.Load(dst + c) + v).Store(dst + c);
                                continue;
                            }
                            float* d = dst + 2 * c;
                            (Vector512.Load(d) + Avx512F.PermuteVar16x32x2(v, low, zero)).Store(d);
                            (Vector512.Load(d + Lanes) + Avx512F.PermuteVar16x32x2(v, high, zero)).Store(d + Lanes);
                        }
                }
            CopyOut(plane + pad * pw + pad, pw, x + (nint)ci * h * w, h, w);
        }
    }

    /// <summary>The h × w plane at src into rows pw apart at dst (masked at each row's end: the border stays as it is).</summary>
    internal static void CopyIn(float* src, int h, int w, float* dst, int pw)
    {
        var tail = Mask(w - (RoundUp(w) - Lanes));
        for (int iy = 0; iy < h; iy++, src += w, dst += pw)
            for (int c = 0; c < w; c += Lanes)
            {
                if (c + Lanes <= w) Vector512.Load(src + c).Store(dst + c);
                else Avx512F.MaskStore(dst + c, tail, Avx512F.MaskLoad(src + c, tail, Vector512<float>.Zero));
            }
    }

    /// <summary>Rows pw apart at src into the h × w plane at dst (masked at each row's end: nothing past the plane is written).</summary>
    internal static void CopyOut(float* src, int pw, float* dst, int h, int w)
    {
        var tail = Mask(w - (RoundUp(w) - Lanes));
        for (int iy = 0; iy < h; iy++, src += pw, dst += w)
            for (int c = 0; c < w; c += Lanes)
            {
                if (c + Lanes <= w) Vector512.Load(src + c).Store(dst + c);
                else Avx512F.MaskStore(dst + c, tail, Vector512.Load(src + c));
            }
    }
}
