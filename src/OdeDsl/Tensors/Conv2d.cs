using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OdeDsl.Tensors;

/// <summary>
/// 2-D convolution by im2col + GEMM, forward and both backward passes. For a group of G samples the im2col
/// matrix col [PatchSize, G·OutSpatial] turns the convolution into out = W·col with W viewed as
/// [OutChannels, PatchSize]; grouping samples keeps the GEMM's n large when the images are small (ODE-Net: 6×6).
/// </summary>
/// <remarks>
/// A call over several groups made outside a two-thread section (not from a chunk of RowChunkedEvaluator or
/// AdjointBatch, which already keep both cores busy) splits its groups between the calling thread and one pool thread
/// (<see cref="Conv2dSplit{T}"/>): the downsampling layers of an ODE-Net see the whole batch in one call.
/// The weight gradient is summed into a per-thread buffer and added to gradW once per call, as gradWᵀ = col·gradOutᵀ
/// when PatchSize ≥ OutChannels (its GEMM packs the smaller gradOut block, where gradW = gradOut·colᵀ packs all of col:
/// 2.3× faster on the ODE block's 65→64 3×3) and as gradW = gradOut·colᵀ otherwise (the 1→64 first layer's 9-row col).
/// </remarks>
public static unsafe class Conv2d
{
    /// <summary>output = conv(input, weight) + bias (written). <paramref name="bias"/> may be empty (no bias).</summary>
    public static void Forward<T>(in Conv2dShape s, ReadOnlySpan<T> input, ReadOnlySpan<T> weight,
        ReadOnlySpan<T> bias, Span<T> output, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        s.Validate();
        Require(input.Length, s.InputLength, nameof(input));
        Require(weight.Length, s.WeightLength, nameof(weight));
        if (!bias.IsEmpty) Require(bias.Length, s.OutChannels, nameof(bias));
        Require(output.Length, s.OutputLength, nameof(output));
        Require(scratch.Length, s.ScratchLength, nameof(scratch));

        int groups = new Geometry(s).Groups(s.Batch);
        if (Conv2dSplit<T>.ShouldSplit(s, groups))
        {
            fixed (T* pi = input, pw = weight, pb = bias, po = output, ps = scratch)
                Conv2dSplit<T>.ForThisThread().Run(Conv2dSplit<T>.Op.Forward, s, pi, pw, bias.IsEmpty ? null : pb, po, ps, groups);
            return;
        }
        ForwardGroups(s, input, weight, bias, output, scratch, 0, groups);
    }

    /// <summary>gradInput = ∂⟨output, gradOutput⟩/∂input (written, not accumulated).</summary>
    public static void BackwardInput<T>(in Conv2dShape s, ReadOnlySpan<T> gradOutput, ReadOnlySpan<T> weight,
        Span<T> gradInput, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        s.Validate();
        Require(gradOutput.Length, s.OutputLength, nameof(gradOutput));
        Require(weight.Length, s.WeightLength, nameof(weight));
        Require(gradInput.Length, s.InputLength, nameof(gradInput));
        Require(scratch.Length, s.ScratchLength, nameof(scratch));

        int groups = new Geometry(s).Groups(s.Batch);
        if (Conv2dSplit<T>.ShouldSplit(s, groups))
        {
            fixed (T* pg = gradOutput, pw = weight, pi = gradInput, ps = scratch)
                Conv2dSplit<T>.ForThisThread().Run(Conv2dSplit<T>.Op.BackwardInput, s, pg, pw, null, pi, ps, groups);
            return;
        }
        BackwardInputGroups(s, gradOutput, weight, gradInput, scratch, 0, groups);
    }

    /// <summary>gradWeight += ∂⟨output, gradOutput⟩/∂weight and gradBias += Σ gradOutput (ACCUMULATED; gradBias may be empty).</summary>
    public static void BackwardWeight<T>(in Conv2dShape s, ReadOnlySpan<T> input, ReadOnlySpan<T> gradOutput,
        Span<T> gradWeight, Span<T> gradBias, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        s.Validate();
        Require(input.Length, s.InputLength, nameof(input));
        Require(gradOutput.Length, s.OutputLength, nameof(gradOutput));
        Require(gradWeight.Length, s.WeightLength, nameof(gradWeight));
        if (!gradBias.IsEmpty) Require(gradBias.Length, s.OutChannels, nameof(gradBias));
        Require(scratch.Length, s.ScratchLength, nameof(scratch));

        int groups = new Geometry(s).Groups(s.Batch);
        if (groups == 0) return;
        if (Conv2dSplit<T>.ShouldSplit(s, groups))
        {
            fixed (T* pi = input, pg = gradOutput, pw = gradWeight, pb = gradBias, ps = scratch)
                Conv2dSplit<T>.ForThisThread().Run(Conv2dSplit<T>.Op.BackwardWeight, s, pi, pg, gradBias.IsEmpty ? null : pb, pw, ps, groups);
            return;
        }
        var sums = WeightSums<T>.ForThisThread(s);
        var sumBias = gradBias.IsEmpty ? Span<T>.Empty : sums.Bias;
        BackwardWeightGroups(s, input, gradOutput, sums.Weight, sumBias, scratch, 0, groups);
        AddWeightSums(s, sums.Weight, sumBias, gradWeight, gradBias);
    }

    /// <summary>Groups [first, last) of <see cref="Forward{T}"/>.</summary>
    internal static void ForwardGroups<T>(in Conv2dShape s, ReadOnlySpan<T> input, ReadOnlySpan<T> weight,
        ReadOnlySpan<T> bias, Span<T> output, Span<T> scratch, int first, int last)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = new Geometry(s);
        for (int group = first; group < last; group++)
        {
            int b0 = group * g.Group, count = Math.Min(g.Group, s.Batch - b0), n = count * g.Spatial;
            var col = scratch[..(g.Patch * n)];
            var staged = scratch.Slice(g.Patch * g.Group * g.Spatial, s.OutChannels * n);
            for (int j = 0; j < count; j++)
                Im2Col.Gather(s, input.Slice((b0 + j) * g.InSample, g.InSample), col[(j * g.Spatial)..], n);
            if (!bias.IsEmpty)
                for (int co = 0; co < s.OutChannels; co++) staged.Slice(co * n, n).Fill(bias[co]);
            Gemm.Multiply(false, false, s.OutChannels, n, g.Patch, T.One, weight, g.Patch, col, n,
                bias.IsEmpty ? T.Zero : T.One, staged, n);
            // staged [Cout, count·S] → output [count, Cout, S]
            var outGroup = output.Slice(b0 * s.OutChannels * g.Spatial, count * s.OutChannels * g.Spatial);
            fixed (T* src = staged, dst = outGroup)
                for (int j = 0; j < count; j++)
                    for (int co = 0; co < s.OutChannels; co++)
                        CopyRun(src + co * (nint)n + j * g.Spatial, dst + (j * s.OutChannels + co) * (nint)g.Spatial, g.Spatial);
        }
    }

    /// <summary>Groups [first, last) of <see cref="BackwardInput{T}"/>.</summary>
    internal static void BackwardInputGroups<T>(in Conv2dShape s, ReadOnlySpan<T> gradOutput, ReadOnlySpan<T> weight,
        Span<T> gradInput, Span<T> scratch, int first, int last)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = new Geometry(s);
        for (int group = first; group < last; group++)
        {
            int b0 = group * g.Group, count = Math.Min(g.Group, s.Batch - b0), n = count * g.Spatial;
            var col = scratch[..(g.Patch * n)];
            var staged = scratch.Slice(g.Patch * g.Group * g.Spatial, s.OutChannels * n);
            Stage(s, gradOutput, b0, count, staged);
            // gradCol [patch, n] = Wᵀ [patch, Cout] · gradOut [Cout, n]
            Gemm.Multiply(true, false, g.Patch, n, s.OutChannels, T.One, weight, g.Patch, staged, n, T.Zero, col, n);
            for (int j = 0; j < count; j++)
                Im2Col.Scatter(s, col[(j * g.Spatial)..], n, gradInput.Slice((b0 + j) * g.InSample, g.InSample));
        }
    }

    /// <summary>Whether the weight-gradient sums are kept transposed, [PatchSize, OutChannels] (see the remarks).</summary>
    internal static bool SumsTransposed(in Conv2dShape s) => s.PatchSize >= s.OutChannels;

    /// <summary>
    /// Groups [first, last) of <see cref="BackwardWeight{T}"/>, WRITTEN into <paramref name="sum"/> (Σ col·gradOutᵀ
    /// [PatchSize, OutChannels] when <see cref="SumsTransposed"/>, else Σ gradOut·colᵀ [OutChannels, PatchSize]) and
    /// <paramref name="sumBias"/> = Σ gradOut [OutChannels] (empty: no bias sum).
    /// </summary>
    internal static void BackwardWeightGroups<T>(in Conv2dShape s, ReadOnlySpan<T> input, ReadOnlySpan<T> gradOutput,
        Span<T> sum, Span<T> sumBias, Span<T> scratch, int first, int last)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var g = new Geometry(s);
        bool transposed = SumsTransposed(s);
        sumBias.Clear();
        for (int group = first; group < last; group++)
        {
            int b0 = group * g.Group, count = Math.Min(g.Group, s.Batch - b0), n = count * g.Spatial;
            var col = scratch[..(g.Patch * n)];
            var staged = scratch.Slice(g.Patch * g.Group * g.Spatial, s.OutChannels * n);
            for (int j = 0; j < count; j++)
                Im2Col.Gather(s, input.Slice((b0 + j) * g.InSample, g.InSample), col[(j * g.Spatial)..], n);
            Stage(s, gradOutput, b0, count, staged);
            T beta = group == first ? T.Zero : T.One;
            if (transposed) // gradWᵀ [patch, Cout] (+)= col [patch, n] · gradOutᵀ [n, Cout]
                Gemm.Multiply(false, true, g.Patch, s.OutChannels, n, T.One, col, n, staged, n, beta, sum, s.OutChannels);
            else            // gradW [Cout, patch] (+)= gradOut [Cout, n] · colᵀ [n, patch]
                Gemm.Multiply(false, true, s.OutChannels, g.Patch, n, T.One, staged, n, col, n, beta, sum, g.Patch);
            if (!sumBias.IsEmpty)
                for (int co = 0; co < s.OutChannels; co++)
                    sumBias[co] += TensorPrimitives.Sum<T>(staged.Slice(co * n, n));
        }
    }

    /// <summary>gradW [Cout, patch] += the sum (transposed back when kept as [patch, Cout]) and gradBias += sumBias (when gradBias is not empty).</summary>
    internal static void AddWeightSums<T>(in Conv2dShape s, ReadOnlySpan<T> sum, ReadOnlySpan<T> sumBias, Span<T> gradWeight, Span<T> gradBias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int patch = s.PatchSize, cout = s.OutChannels;
        if (!gradBias.IsEmpty) TensorPrimitives.Add(gradBias[..cout], sumBias[..cout], gradBias[..cout]);
        if (!SumsTransposed(s))
        {
            TensorPrimitives.Add(gradWeight[..(cout * patch)], sum[..(cout * patch)], gradWeight[..(cout * patch)]);
            return;
        }
        fixed (T* src = sum, dst = gradWeight)
        {
            // Eight output rows at a time, so each source row's eight neighbours are read once from cache.
            int co = 0;
            for (; co + 8 <= cout; co += 8)
            {
                T* d = dst + co * (nint)patch;
                for (int p = 0; p < patch; p++)
                {
                    T* q = src + p * (nint)cout + co;
                    d[p] += q[0]; d[patch + p] += q[1]; d[2 * patch + p] += q[2]; d[3 * patch + p] += q[3];
                    d[4 * patch + p] += q[4]; d[5 * patch + p] += q[5]; d[6 * patch + p] += q[6]; d[7 * patch + p] += q[7];
                }
            }
            for (; co < cout; co++)
                for (int p = 0; p < patch; p++) dst[co * (nint)patch + p] += src[p * (nint)cout + co];
        }
    }

    /// <summary>gradOutput [count, Cout, S] of samples b0… → staged [Cout, count·S], the GEMM-side layout.</summary>
    private static void Stage<T>(in Conv2dShape s, ReadOnlySpan<T> gradOutput, int b0, int count, Span<T> staged)
        where T : unmanaged
    {
        int spatial = s.OutSpatial, n = count * spatial;
        var group = gradOutput.Slice(b0 * s.OutChannels * spatial, count * s.OutChannels * spatial);
        _ = staged[..(s.OutChannels * n)];
        fixed (T* src = group, dst = staged)
            for (int j = 0; j < count; j++)
                for (int co = 0; co < s.OutChannels; co++)
                    CopyRun(src + (j * s.OutChannels + co) * (nint)spatial, dst + co * (nint)n + j * spatial, spatial);
    }

    /// <summary>
    /// dst[0..length) = src[0..length): the staging copies move one output plane (36 values at ODE-Net's 6×6) per call, where
    /// a memmove call per plane cost more than the move; float on AVX-512 takes 16-lane moves and one masked tail.
    /// </summary>
    private static void CopyRun<T>(T* src, T* dst, int length) where T : unmanaged
    {
        if (typeof(T) == typeof(float) && Avx512F.IsSupported)
        {
            float* s = (float*)src, d = (float*)dst;
            int i = 0;
            for (; i + 16 <= length; i += 16) Vector512.Load(s + i).Store(d + i);
            if (i < length)
            {
                var mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(length - i)).AsSingle();
                Avx512F.MaskStore(d + i, mask, Avx512F.MaskLoad(s + i, mask, Vector512<float>.Zero));
            }
            return;
        }
        new ReadOnlySpan<T>(src, length).CopyTo(new Span<T>(dst, length));
    }

    internal readonly struct Geometry(in Conv2dShape s)
    {
        public readonly int Group = s.SamplesPerGemm, Spatial = s.OutSpatial, Patch = s.PatchSize;
        public readonly int InSample = s.InChannels * s.Height * s.Width;
        public int Groups(int batch) => (batch + Group - 1) / Group;
    }

    /// <summary>The weight-gradient sums of one thread's serial calls: PatchSize·OutChannels and OutChannels elements, grown on demand.</summary>
    private sealed class WeightSums<T> where T : unmanaged
    {
        [ThreadStatic] private static WeightSums<T>? t_sums;
        private T[] _weight = [], _bias = [];
        private int _patchCout, _cout;

        public static WeightSums<T> ForThisThread(in Conv2dShape s)
        {
            var w = t_sums ??= new WeightSums<T>();
            int pc = s.PatchSize * s.OutChannels;
            if (w._weight.Length < pc) w._weight = new T[pc];
            if (w._bias.Length < s.OutChannels) w._bias = new T[s.OutChannels];
            (w._patchCout, w._cout) = (pc, s.OutChannels);
            return w;
        }

        public Span<T> Weight => _weight.AsSpan(0, _patchCout);
        public Span<T> Bias => _bias.AsSpan(0, _cout);
    }

    private static void Require(int actual, int needed, string name)
    {
        if (actual < needed)
            throw new ArgumentException($"{name} has {actual} elements but the convolution needs {needed}.", name);
    }
}
