using System.Numerics;

namespace OdeDsl.Tensors;

/// <summary>
/// 2-D convolution by im2col + GEMM, forward and both backward passes. For a group of G samples the im2col
/// matrix col [PatchSize, G·OutSpatial] turns the convolution into out = W·col with W viewed as
/// [OutChannels, PatchSize]; grouping samples keeps the GEMM's n large when the images are small (ODE-Net: 6×6).
/// </summary>
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

        var g = new Geometry(s);
        for (int b0 = 0; b0 < s.Batch; b0 += g.Group)
        {
            int count = Math.Min(g.Group, s.Batch - b0), n = count * g.Spatial;
            var col = scratch[..(g.Patch * n)];
            var staged = scratch.Slice(g.Patch * g.Group * g.Spatial, s.OutChannels * n);
            for (int j = 0; j < count; j++)
                Im2Col.Gather(s, input.Slice((b0 + j) * g.InSample, g.InSample), col[(j * g.Spatial)..], n);
            if (!bias.IsEmpty)
                for (int co = 0; co < s.OutChannels; co++) staged.Slice(co * n, n).Fill(bias[co]);
            Gemm.Multiply(false, false, s.OutChannels, n, g.Patch, T.One, weight, g.Patch, col, n,
                bias.IsEmpty ? T.Zero : T.One, staged, n);
            // staged [Cout, count·S] → output [count, Cout, S]
            for (int j = 0; j < count; j++)
                for (int co = 0; co < s.OutChannels; co++)
                    staged.Slice(co * n + j * g.Spatial, g.Spatial).CopyTo(output.Slice(((b0 + j) * s.OutChannels + co) * g.Spatial, g.Spatial));
        }
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

        var g = new Geometry(s);
        for (int b0 = 0; b0 < s.Batch; b0 += g.Group)
        {
            int count = Math.Min(g.Group, s.Batch - b0), n = count * g.Spatial;
            var col = scratch[..(g.Patch * n)];
            var staged = scratch.Slice(g.Patch * g.Group * g.Spatial, s.OutChannels * n);
            Stage(s, gradOutput, b0, count, staged);
            // gradCol [patch, n] = Wᵀ [patch, Cout] · gradOut [Cout, n]
            Gemm.Multiply(true, false, g.Patch, n, s.OutChannels, T.One, weight, g.Patch, staged, n, T.Zero, col, n);
            for (int j = 0; j < count; j++)
                Im2Col.Scatter(s, col[(j * g.Spatial)..], n, gradInput.Slice((b0 + j) * g.InSample, g.InSample));
        }
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

        var g = new Geometry(s);
        for (int b0 = 0; b0 < s.Batch; b0 += g.Group)
        {
            int count = Math.Min(g.Group, s.Batch - b0), n = count * g.Spatial;
            var col = scratch[..(g.Patch * n)];
            var staged = scratch.Slice(g.Patch * g.Group * g.Spatial, s.OutChannels * n);
            for (int j = 0; j < count; j++)
                Im2Col.Gather(s, input.Slice((b0 + j) * g.InSample, g.InSample), col[(j * g.Spatial)..], n);
            Stage(s, gradOutput, b0, count, staged);
            // gradW [Cout, patch] += gradOut [Cout, n] · colᵀ [n, patch]
            Gemm.Multiply(false, true, s.OutChannels, g.Patch, n, T.One, staged, n, col, n, T.One, gradWeight, g.Patch);
            if (!gradBias.IsEmpty)
                for (int co = 0; co < s.OutChannels; co++)
                    gradBias[co] += System.Numerics.Tensors.TensorPrimitives.Sum<T>(staged.Slice(co * n, n));
        }
    }

    /// <summary>gradOutput [count, Cout, S] of samples b0… → staged [Cout, count·S], the GEMM-side layout.</summary>
    private static void Stage<T>(in Conv2dShape s, ReadOnlySpan<T> gradOutput, int b0, int count, Span<T> staged)
        where T : unmanaged
    {
        int spatial = s.OutSpatial, n = count * spatial;
        for (int j = 0; j < count; j++)
            for (int co = 0; co < s.OutChannels; co++)
                gradOutput.Slice(((b0 + j) * s.OutChannels + co) * spatial, spatial).CopyTo(staged.Slice(co * n + j * spatial, spatial));
    }

    private readonly struct Geometry(in Conv2dShape s)
    {
        public readonly int Group = s.SamplesPerGemm, Spatial = s.OutSpatial, Patch = s.PatchSize;
        public readonly int InSample = s.InChannels * s.Height * s.Width;
    }

    private static void Require(int actual, int needed, string name)
    {
        if (actual < needed)
            throw new ArgumentException($"{name} has {actual} elements but the convolution needs {needed}.", name);
    }
}
