using System.Numerics;

namespace OdeDsl.Tensors;

/// <summary>
/// 2-D convolution by im2col + GEMM, forward and both backward passes. Per sample, the im2col matrix
/// col [PatchSize, OutSpatial] turns the convolution into out = W·col with W viewed as [OutChannels, PatchSize].
/// </summary>
public static class Conv2d
{
    /// <summary>output = conv(input, weight) + bias. <paramref name="bias"/> may be empty (no bias).</summary>
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

        int inSample = s.InChannels * s.Height * s.Width, spatial = s.OutSpatial, patch = s.PatchSize;
        int outSample = s.OutChannels * spatial;
        var col = scratch[..s.ScratchLength];
        for (int b = 0; b < s.Batch; b++)
        {
            var outB = output.Slice(b * outSample, outSample);
            Im2Col.Gather(s, input.Slice(b * inSample, inSample), col);
            if (bias.IsEmpty)
            {
                Gemm.Multiply(false, false, s.OutChannels, spatial, patch, T.One, weight, patch, col, spatial, T.Zero, outB, spatial);
            }
            else
            {
                for (int co = 0; co < s.OutChannels; co++) outB.Slice(co * spatial, spatial).Fill(bias[co]);
                Gemm.Multiply(false, false, s.OutChannels, spatial, patch, T.One, weight, patch, col, spatial, T.One, outB, spatial);
            }
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

        int inSample = s.InChannels * s.Height * s.Width, spatial = s.OutSpatial, patch = s.PatchSize;
        int outSample = s.OutChannels * spatial;
        var col = scratch[..s.ScratchLength];
        for (int b = 0; b < s.Batch; b++)
        {
            // gradCol [patch, spatial] = Wᵀ [patch, Cout] · gradOut_b [Cout, spatial]
            Gemm.Multiply(true, false, patch, spatial, s.OutChannels, T.One, weight, patch,
                gradOutput.Slice(b * outSample, outSample), spatial, T.Zero, col, spatial);
            Im2Col.Scatter(s, col, gradInput.Slice(b * inSample, inSample));
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

        int inSample = s.InChannels * s.Height * s.Width, spatial = s.OutSpatial, patch = s.PatchSize;
        int outSample = s.OutChannels * spatial;
        var col = scratch[..s.ScratchLength];
        for (int b = 0; b < s.Batch; b++)
        {
            var gOut = gradOutput.Slice(b * outSample, outSample);
            Im2Col.Gather(s, input.Slice(b * inSample, inSample), col);
            // gradW [Cout, patch] += gradOut_b [Cout, spatial] · colᵀ [spatial, patch]
            Gemm.Multiply(false, true, s.OutChannels, patch, spatial, T.One, gOut, spatial, col, spatial, T.One, gradWeight, patch);
            if (!gradBias.IsEmpty)
            {
                for (int co = 0; co < s.OutChannels; co++)
                    gradBias[co] += System.Numerics.Tensors.TensorPrimitives.Sum<T>(gOut.Slice(co * spatial, spatial));
            }
        }
    }

    private static void Require(int actual, int needed, string name)
    {
        if (actual < needed)
            throw new ArgumentException($"{name} has {actual} elements but the convolution needs {needed}.", name);
    }
}
