using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OdeDsl.Tensors;

/// <summary>
/// im2col / col2im for float on AVX-512 for a "same" convolution: stride 1 and a square odd kernel of side 2·pad + 1,
/// so the output map has the input's size (the ODE-Net's 3×3 pad 1 on 6×6). Then a column entry (ci, ky, kx) of
/// one sample is the input plane read flat at a constant shift d = (ky − pad)·W + (kx − pad), with the taps that fall
/// outside the image masked to zero: each 16 outputs are ONE masked load and one store, with no padded copy of the
/// plane and no per-row loop. col2im is the same pull the other way: pixel i sums the entries (ci, k) at i − d_k of
/// the taps that read it, in kernel order, 16 pixels per masked load and add.
/// </summary>
/// <remarks>
/// <para>A masked-out lane is neither read nor faulted on (AVX-512 masked loads), so the shifted loads may start before or
/// run past the plane or the sample's columns; only lanes whose tap is inside the image read anything.</para>
/// <para>Bit for bit the generic path of <see cref="Im2Col"/>: im2col copies values and writes +0 outside the image;
/// col2im adds each pixel's contributions in the generic order (kernel row, kernel column) to +0, and the masked lanes
/// add +0 to a sum that started at +0 and so can never be −0 (x + (+0) = x then).</para>
/// <para>The masks depend only on the geometry; they are built once per thread and shape.</para>
/// </remarks>
internal static unsafe class Im2ColSame
{
    private const int Lanes = 16;

    /// <summary>Most mask vectors per direction (taps × 16-lane chunks of a plane): 16 KiB each.</summary>
    private const int MaxMasks = 256;

    public static bool Applies(in Conv2dShape s) =>
        Avx512F.IsSupported && s.Stride == 1 && s.KernelHeight == 2 * s.Padding + 1 && s.KernelWidth == s.KernelHeight
        && (long)s.KernelHeight * s.KernelWidth * Chunks(s.Height * s.Width) <= MaxMasks;

    private static int Chunks(int spatial) => (spatial + Lanes - 1) / Lanes;

    /// <summary>col[(ci, ky, kx), i] = x[ci, i + d] where the tap is inside the image, else 0; rows ld apart.</summary>
    public static void Gather(in Conv2dShape s, float* x, float* col, int ld)
    {
        var m = MaskTable.For(s);
        int spatial = s.Height * s.Width, taps = s.KernelHeight * s.KernelWidth, chunks = m.Chunks, last = chunks - 1;
        var zero = Vector512<float>.Zero;
        fixed (float* gatherMasks = m.Gather, tailMask = m.Tail)
        {
            var tail = Vector512.Load(tailMask);
            float* dstRow = col;
            for (int ci = 0; ci < s.InChannels; ci++)
            {
                float* plane = x + (nint)ci * spatial;
                // Inside channels read their shifted windows whole (they stay within the sample) and mask with an and;
                // the first and last take masked loads, which read nothing outside the plane.
                bool inside = ci > 0 && ci < s.InChannels - 1 && m.InsideReads;
                for (int k = 0; k < taps; k++, dstRow += ld)
                {
                    float* src = plane + m.Shift[k];
                    float* mask = gatherMasks + k * chunks * Lanes;
                    for (int c = 0; c < chunks; c++)
                    {
                        var v = inside ? Vector512.Load(src + c * Lanes) & Vector512.Load(mask + c * Lanes)
                            : Avx512F.MaskLoad(src + c * Lanes, Vector512.Load(mask + c * Lanes), zero);
                        if (c < last) v.Store(dstRow + c * Lanes);
                        else Avx512F.MaskStore(dstRow + c * Lanes, tail, v);
                    }
                }
            }
        }
    }

    /// <summary>x = col2im(col) (overwritten): each pixel the sum, in kernel order, of the column entries that read it.</summary>
    public static void Scatter(in Conv2dShape s, float* col, int ld, float* x)
    {
        var m = MaskTable.For(s);
        int spatial = s.Height * s.Width, taps = s.KernelHeight * s.KernelWidth, chunks = m.Chunks, last = chunks - 1;
        var zero = Vector512<float>.Zero;
        fixed (float* scatterMasks = m.Scatter, tailMask = m.Tail)
        {
            var tail = Vector512.Load(tailMask);
            // A row's shifted window may run into the rows before and after it (ld ≥ the plane): whole loads
            // and an and, except in the first and the last row, which take masked loads.
            bool wide = ld >= spatial + m.Overhang;
            for (int ci = 0; ci < s.InChannels; ci++)
            {
                float* rows = col + (nint)ci * taps * ld, plane = x + (nint)ci * spatial;
                for (int c = 0; c < chunks; c++)
                {
                    var sum = zero;
                    for (int k = 0; k < taps; k++)
                    {
                        float* src = rows + (nint)k * ld + c * Lanes - m.Shift[k];
                        var mask = Vector512.Load(scatterMasks + (k * chunks + c) * Lanes);
                        int row = ci * taps + k;
                        sum += wide && row > 0 && row < s.InChannels * taps - 1 ? Vector512.Load(src) & mask
                            : Avx512F.MaskLoad(src, mask, zero);
                    }
                    if (c < last) sum.Store(plane + c * Lanes);
                    else Avx512F.MaskStore(plane + c * Lanes, tail, sum);
                }
            }
        }
    }

    /// <summary>The shifts and lane masks of one geometry, kept per thread for the last shape used.</summary>
    private sealed class MaskTable
    {
        [ThreadStatic] private static MaskTable? t_last;

        private readonly int _h, _w, _k;
        public readonly int Chunks;
        public readonly int[] Shift;
        /// <summary>[tap, chunk, lane]: all ones where output j = 16·chunk + lane reads a pixel inside the image.</summary>
        public readonly float[] Gather;
        /// <summary>[tap, chunk, lane]: all ones where pixel i = 16·chunk + lane is read by the tap from an output inside the map.</summary>
        public readonly float[] Scatter;
        /// <summary>How far a shifted window of whole chunks reaches past either end of its plane.</summary>
        public readonly int Overhang;
        /// <summary>Whether every window of a channel other than the first and last stays inside the sample's planes.</summary>
        public readonly bool InsideReads;
        /// <summary>Lanes of the last chunk inside the plane.</summary>
        public readonly float[] Tail = new float[Lanes];

        private MaskTable(int h, int w, int k)
        {
            (_h, _w, _k) = (h, w, k);
            int spatial = h * w, pad = k / 2, taps = k * k;
            Chunks = Im2ColSame.Chunks(spatial);
            Overhang = Chunks * Lanes - spatial + pad * w + pad;
            InsideReads = Overhang <= spatial;
            Shift = new int[taps];
            Gather = new float[taps * Chunks * Lanes];
            Scatter = new float[taps * Chunks * Lanes];
            float ones = BitConverter.Int32BitsToSingle(-1);
            for (int l = 0; l < Lanes; l++) Tail[l] = (Chunks - 1) * Lanes + l < spatial ? ones : 0f;
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++)
                {
                    int tap = ky * k + kx, dy = ky - pad, dx = kx - pad;
                    Shift[tap] = dy * w + dx;
                    for (int j = 0; j < spatial; j++)
                    {
                        int y = j / w, xx = j % w, at = tap * Chunks * Lanes + j;
                        // output j reads pixel (y + dy, x + dx); pixel j is read by output (y − dy, x − dx)
                        if ((uint)(y + dy) < (uint)h && (uint)(xx + dx) < (uint)w) Gather[at] = ones;
                        if ((uint)(y - dy) < (uint)h && (uint)(xx - dx) < (uint)w) Scatter[at] = ones;
                    }
                }
        }

        public static MaskTable For(in Conv2dShape s)
        {
            var m = t_last;
            if (m is null || m._h != s.Height || m._w != s.Width || m._k != s.KernelHeight)
                t_last = m = new MaskTable(s.Height, s.Width, s.KernelHeight);
            return m;
        }
    }
}
