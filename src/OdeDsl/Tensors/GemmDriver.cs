using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OdeDsl.Tensors;

internal enum GemmPath { Scalar, Vector256, Vector512 }

/// <summary>
/// Blocked GEMM for float and double on top of the register microkernels: column panels of two vectors on the
/// outside (a k×2V panel of B stays in L1/L2 while every row block of A streams past it), row blocks inside.
/// A is read through strides (no packing for Aᵀ); Bᵀ is packed once per call into a pooled, zero-padded
/// buffer, except for small m where row-by-row dot products are cheaper than the packing.
/// Column tails narrower than a panel are computed into a stack tile and merged with α/β.
/// Small shapes go elsewhere first: GemmTiny (m·n·k ≤ 512), GemmSmallK (k ≤ 4), GemmOuter (Aᵀ·B with a side ≤ 4: weight
/// gradients over a batch), and inside the blocked path n = 2 with contiguous A rows to GemmNarrow512 on AVX-512 or
/// GemmNarrow256 on AVX2 + FMA (B not transposed: its two columns are first copied into rows).
/// </summary>
internal static unsafe class GemmDriver
{
    /// <summary>The kernel family in use: the widest accelerated one. Tests set it to exercise every family
    /// (Vector512 code is still correct, only slow, where the hardware lacks AVX-512).</summary>
    internal static GemmPath Path = Detect();

    /// <summary>Products that took GemmNarrow512 or GemmNarrow256 with B not transposed, on this thread (for the dispatch tests).</summary>
    [ThreadStatic] internal static int NarrowColumnsCalls;

    private static GemmPath Detect()
    {
        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported) return GemmPath.Vector512;
        if (Vector256.IsHardwareAccelerated && Fma.IsSupported) return GemmPath.Vector256;
        return GemmPath.Scalar;
    }

    public static void Run<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Path != GemmPath.Scalar && (long)m * n * k <= GemmTiny.MaxProduct)
        {
            GemmTiny.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        if (Path != GemmPath.Scalar && GemmSmallK.Applies<T>(n, k))
        {
            GemmSmallK.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        if (Path != GemmPath.Scalar
            && GemmOuter.Applies(transA, transB, m, n, Path == GemmPath.Vector512 ? Vector512<T>.Count : Vector256<T>.Count))
        {
            fixed (T* pa = a, pb = b, pc = c)
                GemmOuter.Run(Path == GemmPath.Vector512, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            return;
        }
        if (Path != GemmPath.Scalar && GemmParallel.ShouldSplit(m, n, k))
        {
            GemmParallel.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        RunSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /// <summary>One thread, the kernel family in <see cref="Path"/>.</summary>
    public static void RunSerial<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (Path)
        {
            case GemmPath.Vector512:
                Blocked<T, Kernels512>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
                break;
            case GemmPath.Vector256:
                Blocked<T, Kernels256>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
                break;
            default:
                GemmScalar.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
                break;
        }
    }

    private static void Blocked<T, TK>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TK : struct, IGemmKernels
    {
        int rows = TK.Rows, width = 2 * TK.Lanes<T>();
        nint ars = transA ? 1 : lda, acs = transA ? lda : 1;
        bool readC = !T.IsZero(beta);
        fixed (T* pa = a, pb = b, pc = c)
        {
            // Outputs narrower than one vector over many rows (the 50 → 2 layer) would waste most of a padded panel.
            if (n < TK.Lanes<T>())
            {
                if (acs == 1 && NarrowTwo<T, TK>(n, k))
                {
                    T* bt = pb;
                    nint ldbt = ldb;
                    if (!transB)
                    {
                        // B (k×2, e.g. W1 of the 2 → 50 layer in the reverse sweep) split into its two columns: then Bᵀ's rows.
                        NarrowColumnsCalls++;
                        bt = GemmScratch<T>.Get(GemmScratch<T>.PackedB, 2 * k);
                        for (int p = 0; p < k; p++) { bt[p] = pb[p * (nint)ldb]; bt[k + p] = pb[p * (nint)ldb + 1]; }
                        ldbt = k;
                    }
                    bool wide = typeof(TK) == typeof(Kernels512);
                    if (typeof(T) == typeof(float))
                    {
                        float al = Unsafe.As<T, float>(ref alpha), be = Unsafe.As<T, float>(ref beta);
                        if (wide) GemmNarrow512.Run(m, k, al, (float*)pa, ars, (float*)bt, ldbt, be, (float*)pc, ldc, readC);
                        else GemmNarrow256.Run(m, k, al, (float*)pa, ars, (float*)bt, ldbt, be, (float*)pc, ldc, readC);
                    }
                    else
                    {
                        double al = Unsafe.As<T, double>(ref alpha), be = Unsafe.As<T, double>(ref beta);
                        if (wide) GemmNarrow512.Run(m, k, al, (double*)pa, ars, (double*)bt, ldbt, be, (double*)pc, ldc, readC);
                        else GemmNarrow256.Run(m, k, al, (double*)pa, ars, (double*)bt, ldbt, be, (double*)pc, ldc, readC);
                    }
                    return;
                }
                if (acs == 1)
                {
                    NarrowDots<T, TK>(transB, m, n, k, alpha, pa, ars, pb, ldb, beta, pc, ldc, readC);
                    return;
                }
                if (m >= NarrowMinRows)
                {
                    NarrowTransposed<T, TK>(transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, readC);
                    return;
                }
            }

            T* bk = pb;
            nint ldbk = ldb;
            if (transB)
            {
                // Few rows of contiguous A: dot products of A rows with B rows beat packing Bᵀ.
                if (m < rows && acs == 1 && k >= TK.Lanes<T>())
                {
                    DotRows<T, TK>(m, n, k, alpha, pa, ars, pb, ldb, beta, pc, ldc, readC);
                    return;
                }
                int padded = (n + width - 1) / width * width;
                bk = GemmScratch<T>.Get(GemmScratch<T>.PackedB, k * padded);
                PackTransposed(pb, ldb, n, k, bk, padded);
                ldbk = padded;
            }

            // Leftover rows (m mod rows ≥ 2): copied into a zero-padded rows×k block so one Block call reads each
            // B panel once; re-reading it row by row thrashes L1 when ldb is a power of two (4 KiB aliasing).
            int fullRows = m - m % rows, left = m - fullRows;
            T* aLeft = null;
            if (left >= 2)
            {
                aLeft = GemmScratch<T>.Get(GemmScratch<T>.LeftRows, rows * k);
                for (int r = 0; r < rows; r++)
                {
                    T* src = pa + (fullRows + r) * ars, dst = aLeft + r * (nint)k;
                    if (r < left) for (int p = 0; p < k; p++) dst[p] = src[p * acs];
                    else for (int p = 0; p < k; p++) dst[p] = T.Zero;
                }
            }

            T* tile = stackalloc T[rows * width];
            for (int j0 = 0; j0 < n; j0 += width)
            {
                int cols = Math.Min(width, n - j0);
                T* panel = bk + j0;
                nint ldp = ldbk;
                if (cols < width && !transB)
                {
                    // B's last columns: copy into a zero-padded panel so the kernels never read past the span.
                    panel = GemmScratch<T>.Get(GemmScratch<T>.Tail, k * width);
                    ldp = width;
                    for (int p = 0; p < k; p++)
                    {
                        T* src = pb + p * (nint)ldb + j0, dst = panel + p * width;
                        int j = 0;
                        for (; j < cols; j++) dst[j] = src[j];
                        for (; j < width; j++) dst[j] = T.Zero;
                    }
                }

                T* cPanel = pc + j0;
                if (cols == width)
                {
                    for (int i0 = 0; i0 < fullRows; i0 += rows)
                        TK.Block(k, pa + i0 * ars, ars, acs, panel, ldp, cPanel + i0 * (nint)ldc, ldc, alpha, beta, readC);
                    if (left == 1)
                        TK.Row(k, pa + fullRows * ars, acs, panel, ldp, cPanel + fullRows * (nint)ldc, alpha, beta, readC);
                }
                else
                {
                    for (int i0 = 0; i0 < fullRows; i0 += rows)
                    {
                        TK.Block(k, pa + i0 * ars, ars, acs, panel, ldp, tile, width, T.One, T.Zero, false);
                        GemmTile.Merge(tile, width, cPanel + i0 * (nint)ldc, ldc, rows, cols, alpha, beta, readC);
                    }
                    if (left == 1)
                    {
                        TK.Row(k, pa + fullRows * ars, acs, panel, ldp, tile, T.One, T.Zero, false);
                        GemmTile.Merge(tile, width, cPanel + fullRows * (nint)ldc, ldc, 1, cols, alpha, beta, readC);
                    }
                }
                if (left >= 2)
                {
                    TK.Block(k, aLeft, k, 1, panel, ldp, tile, width, T.One, T.Zero, false);
                    GemmTile.Merge(tile, width, cPanel + fullRows * (nint)ldc, ldc, left, cols, alpha, beta, readC);
                }
            }
        }
    }

    /// <summary>Whether an n = 2 product with contiguous A rows takes this family's n = 2 kernel: GemmNarrow512 on
    /// Kernels512, GemmNarrow256 (AVX2 + FMA) on Kernels256; otherwise NarrowDots.</summary>
    private static bool NarrowTwo<T, TK>(int n, int k) where T : unmanaged where TK : struct, IGemmKernels
        => typeof(TK) == typeof(Kernels512) ? GemmNarrow512.Applies<T>(n, k)
         : typeof(TK) == typeof(Kernels256) && GemmNarrow256.Applies<T>(n, k);

    /// <summary>Rows from which a narrow output with transposed A takes the transposed route (≥ the widest vector,
    /// so the transposed product, whose n is this m, is never narrow itself).</summary>
    private const int NarrowMinRows = 16;

    /// <summary>Narrow C with contiguous A rows: 4×2 dot-product tiles against the rows of Bᵀ (packed if B is not transposed).</summary>
    private static void NarrowDots<T, TK>(bool transB, int m, int n, int k, T alpha, T* a, nint lda, T* b, nint ldb,
        T beta, T* c, nint ldc, bool readC)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TK : struct, IGemmKernels
    {
        T* bt = b;
        nint ldbt = ldb;
        if (!transB)
        {
            bt = GemmScratch<T>.Get(GemmScratch<T>.PackedB, n * k);
            for (int p = 0; p < k; p++)
                for (int j = 0; j < n; j++) bt[j * (nint)k + p] = b[p * ldb + j];
            ldbt = k;
        }
        int i = 0;
        for (; i + 4 <= m; i += 4)
        {
            T* ai = a + i * lda, ci = c + i * ldc;
            int j = 0;
            for (; j + 2 <= n; j += 2) TK.Dot4x2(k, ai, lda, bt + j * ldbt, ldbt, ci + j, ldc, alpha, beta, readC);
            if (j < n)
                for (int r = 0; r < 4; r++) TK.Dot1(k, ai + r * lda, bt + j * ldbt, ci + r * ldc + j, alpha, beta, readC);
        }
        if (i < m) DotRows<T, TK>(m - i, n, k, alpha, a + i * lda, lda, bt, ldbt, beta, c + i * ldc, ldc, readC);
    }

    /// <summary>
    /// Narrow C with A stored transposed (k×m, e.g. a weight gradient gᵀ·x): compute Cᵀ = op(B)ᵀ·A into scratch,
    /// where A's rows are now the contiguous panel operand and m the wide dimension, then merge Cᵀ into C.
    /// </summary>
    private static void NarrowTransposed<T, TK>(bool transB, int m, int n, int k, T alpha, T* a, int lda, T* b, int ldb,
        T beta, T* c, nint ldc, bool readC)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TK : struct, IGemmKernels
    {
        T* ct = GemmScratch<T>.Get(GemmScratch<T>.Transposed, n * m);
        int bRows = transB ? n : k, bCols = transB ? k : n;
        Blocked<T, TK>(!transB, false, n, m, k, T.One,
            new ReadOnlySpan<T>(b, (bRows - 1) * ldb + bCols), ldb,
            new ReadOnlySpan<T>(a, (k - 1) * lda + m), lda,
            T.Zero, new Span<T>(ct, n * m), m);
        for (int i = 0; i < m; i++)
        {
            T* ci = c + i * ldc;
            for (int j = 0; j < n; j++) ci[j] = GemmTile.Combine(ct[j * (nint)m + i], ci[j], alpha, beta, readC);
        }
    }

    /// <summary>C[i, j] = α·⟨A row i, B row j⟩ + β·C[i, j] with both rows contiguous (op(B) = Bᵀ).</summary>
    private static void DotRows<T, TK>(int m, int n, int k, T alpha, T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc, bool readC)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TK : struct, IGemmKernels
    {
        for (int i = 0; i < m; i++)
        {
            T* ai = a + i * lda, ci = c + i * ldc;
            int j = 0;
            for (; j + 4 <= n; j += 4) TK.Dot4(k, ai, b + j * ldb, ldb, ci + j, alpha, beta, readC);
            for (; j < n; j++) TK.Dot1(k, ai, b + j * ldb, ci + j, alpha, beta, readC);
        }
    }

    /// <summary>dst[p, j] = src[j, p] for j &lt; n, zero for n ≤ j &lt; padded (src is n×k with stride ld).</summary>
    private static void PackTransposed<T>(T* src, nint ld, int n, int k, T* dst, int padded)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int j = 0;
        if (typeof(T) == typeof(float) && Avx.IsSupported)
        {
            // float: 8 × 8 blocks transposed in registers (8 loads, 24 shuffles, 8 stores), the scalar walk below cost
            // about 4 µs for a 64 × 64 B (a third of the 256 × 64 × 64 product that packs it, measured).
            for (; j + 8 <= n; j += 8)
            {
                float* s = (float*)src + j * ld, d = (float*)dst + j;
                int p = 0;
                for (; p + 8 <= k; p += 8) Transpose8x8(s + p, ld, d + p * (nint)padded, padded);
                for (; p < k; p++)
                    for (int r = 0; r < 8; r++) d[p * (nint)padded + r] = s[r * ld + p];
            }
        }
        // Walk src rows contiguously, four at a time, so each dst row receives four neighbouring writes.
        for (; j + 4 <= n; j += 4)
        {
            T* s0 = src + j * ld, s1 = s0 + ld, s2 = s1 + ld, s3 = s2 + ld;
            T* d = dst + j;
            for (int p = 0; p < k; p++, d += padded)
            {
                d[0] = s0[p]; d[1] = s1[p]; d[2] = s2[p]; d[3] = s3[p];
            }
        }
        for (; j < n; j++)
        {
            T* s = src + j * ld;
            for (int p = 0; p < k; p++) dst[p * (nint)padded + j] = s[p];
        }
        if (padded > n)
            for (int p = 0; p < k; p++) new Span<T>(dst + p * (nint)padded + n, padded - n).Clear();
    }

    /// <summary>d[c, r] = s[r, c] for an 8 × 8 float block (rows ls, resp. ld, apart): the usual unpack/shuffle/permute network.</summary>
    private static void Transpose8x8(float* s, nint ls, float* d, nint ld)
    {
        Vector256<float> r0 = Avx.LoadVector256(s), r1 = Avx.LoadVector256(s + ls), r2 = Avx.LoadVector256(s + 2 * ls),
            r3 = Avx.LoadVector256(s + 3 * ls), r4 = Avx.LoadVector256(s + 4 * ls), r5 = Avx.LoadVector256(s + 5 * ls),
            r6 = Avx.LoadVector256(s + 6 * ls), r7 = Avx.LoadVector256(s + 7 * ls);
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3),
            t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE),
            u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(d + ld, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(d + 2 * ld, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(d + 3 * ld, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(d + 4 * ld, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(d + 5 * ld, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(d + 6 * ld, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(d + 7 * ld, Avx.Permute2x128(u3, u7, 0x31));
    }
}

/// <summary>Static dispatch to one microkernel family; the JIT specialises <see cref="GemmDriver"/> per struct.</summary>
internal interface IGemmKernels
{
    static abstract int Rows { get; }
    static abstract int Lanes<T>() where T : unmanaged;
    static abstract unsafe void Block<T>(int k, T* a, nint ars, nint acs, T* b, nint ldb, T* c, nint ldc, T alpha, T beta, bool readC) where T : unmanaged;
    static abstract unsafe void Row<T>(int k, T* a, nint acs, T* b, nint ldb, T* c, T alpha, T beta, bool readC) where T : unmanaged;
    static abstract unsafe void Dot4<T>(int k, T* a, T* b, nint ldb, T* c, T alpha, T beta, bool readC) where T : unmanaged, IFloatingPointIeee754<T>;
    static abstract unsafe void Dot1<T>(int k, T* a, T* b, T* c, T alpha, T beta, bool readC) where T : unmanaged, IFloatingPointIeee754<T>;
    static abstract unsafe void Dot4x2<T>(int k, T* a, nint lda, T* b, nint ldb, T* c, nint ldc, T alpha, T beta, bool readC) where T : unmanaged, IFloatingPointIeee754<T>;
}

internal readonly unsafe struct Kernels256 : IGemmKernels
{
    public static int Rows => GemmKernels256.Rows;
    public static int Lanes<T>() where T : unmanaged => Vector256<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Block<T>(int k, T* a, nint ars, nint acs, T* b, nint ldb, T* c, nint ldc, T alpha, T beta, bool readC) where T : unmanaged
        => GemmKernels256.Block(k, a, ars, acs, b, ldb, c, ldc, alpha, beta, readC);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Row<T>(int k, T* a, nint acs, T* b, nint ldb, T* c, T alpha, T beta, bool readC) where T : unmanaged
        => GemmKernels256.Row(k, a, acs, b, ldb, c, alpha, beta, readC);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Dot4<T>(int k, T* a, T* b, nint ldb, T* c, T alpha, T beta, bool readC) where T : unmanaged, IFloatingPointIeee754<T>
        => GemmKernels256.Dot4(k, a, b, ldb, c, alpha, beta, readC);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Dot1<T>(int k, T* a, T* b, T* c, T alpha, T beta, bool readC) where T : unmanaged, IFloatingPointIeee754<T>
        => GemmKernels256.Dot1(k, a, b, c, alpha, beta, readC);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Dot4x2<T>(int k, T* a, nint lda, T* b, nint ldb, T* c, nint ldc, T alpha, T beta, bool readC) where T : unmanaged, IFloatingPointIeee754<T>
        => GemmKernels256.Dot4x2(k, a, lda, b, ldb, c, ldc, alpha, beta, readC);
}

internal readonly unsafe struct Kernels512 : IGemmKernels
{
    public static int Rows => GemmKernels512.Rows;
    public static int Lanes<T>() where T : unmanaged => Vector512<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Block<T>(int k, T* a, nint ars, nint acs, T* b, nint ldb, T* c, nint ldc, T alpha, T beta, bool readC) where T : unmanaged
        => GemmKernels512.Block(k, a, ars, acs, b, ldb, c, ldc, alpha, beta, readC);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Row<T>(int k, T* a, nint acs, T* b, nint ldb, T* c, T alpha, T beta, bool readC) where T : unmanaged
        => GemmKernels512.Row(k, a, acs, b, ldb, c, alpha, beta, readC);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Dot4<T>(int k, T* a, T* b, nint ldb, T* c, T alpha, T beta, bool readC) where T : unmanaged, IFloatingPointIeee754<T>
        => GemmKernels512.Dot4(k, a, b, ldb, c, alpha, beta, readC);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Dot1<T>(int k, T* a, T* b, T* c, T alpha, T beta, bool readC) where T : unmanaged, IFloatingPointIeee754<T>
        => GemmKernels512.Dot1(k, a, b, c, alpha, beta, readC);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Dot4x2<T>(int k, T* a, nint lda, T* b, nint ldb, T* c, nint ldc, T alpha, T beta, bool readC) where T : unmanaged, IFloatingPointIeee754<T>
        => GemmKernels512.Dot4x2(k, a, lda, b, ldb, c, ldc, alpha, beta, readC);
}
