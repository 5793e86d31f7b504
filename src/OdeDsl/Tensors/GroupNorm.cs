using System.Numerics;

namespace OdeDsl.Tensors;

/// <summary>
/// Group normalisation (Wu &amp; He 2018) with PyTorch's <c>nn.GroupNorm</c> semantics: for x [batch, channels,
/// spatial], each (sample, group of channels/groups consecutive channels) is normalised with its mean and
/// biased variance, then scaled and shifted per channel: y = (x − μ)·rstd·γ[c] + β[c], rstd = 1/√(σ² + eps).
/// </summary>
/// <remarks>
/// <c>stats</c> has 2·batch·groups elements: the means in the first half, the rstds in the second half,
/// both indexed by sample·groups + group. Forward writes them; Backward and JacobianVectorProduct read them.
/// </remarks>
public static class GroupNorm
{
    /// <summary>PyTorch's default eps.</summary>
    public const double DefaultEpsilon = 1e-5;

    public static void Forward<T>(int batch, int channels, int spatial, int groups, T eps,
        ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y, Span<T> stats)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int size = Validate(batch, channels, spatial, groups, x.Length, gamma.Length, stats.Length);
        Require(beta.Length, channels, nameof(beta));
        Require(y.Length, size, nameof(y));
        if (!(eps >= T.Zero)) throw new ArgumentOutOfRangeException(nameof(eps), "eps must be non-negative.");

        if (BatchSplit<T>.ShouldSplit(batch, size))
        {
            BatchSplit<T>.GroupNormForward(batch, channels, spatial, groups, eps, x, gamma, beta, y, stats);
            return;
        }
        ForwardSamples(batch, channels, spatial, groups, eps, x, gamma, beta, y, stats, 0, batch);
    }

    /// <summary>Samples [first, last) of <see cref="Forward{T}"/> (spans whole, validated).</summary>
    internal static void ForwardSamples<T>(int batch, int channels, int spatial, int groups, T eps,
        ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y, Span<T> stats, int first, int last)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int perGroup = channels / groups, groupLength = perGroup * spatial, bg = batch * groups;
        T inverseCount = T.One / T.CreateChecked(groupLength);
        for (int n = first * groups; n < last * groups; n++)
        {
            var xg = x.Slice(n * groupLength, groupLength);
            T mean = System.Numerics.Tensors.TensorPrimitives.Sum(xg) * inverseCount;
            T rstd = T.One / T.Sqrt(SpanMath.SumSquaresCentered(xg, mean) * inverseCount + eps);
            stats[n] = mean;
            stats[bg + n] = rstd;

            int g = n % groups;
            var yg = y.Slice(n * groupLength, groupLength);
            for (int cl = 0; cl < perGroup; cl++)
            {
                int c = g * perGroup + cl;
                T scale = rstd * gamma[c];
                SpanMath.Affine(xg.Slice(cl * spatial, spatial), scale, beta[c] - mean * scale, yg.Slice(cl * spatial, spatial));
            }
        }
    }

    /// <summary>
    /// Reverse mode: gradX is written; gradGamma and gradBeta are ACCUMULATED. With x̂ = (x − μ)·rstd and
    /// g = gradY·γ, gradX = rstd·(g − mean(g) − x̂·mean(g·x̂)) over each group.
    /// </summary>
    public static void Backward<T>(int batch, int channels, int spatial, int groups,
        ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> stats, ReadOnlySpan<T> gradY,
        Span<T> gradX, Span<T> gradGamma, Span<T> gradBeta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int size = Validate(batch, channels, spatial, groups, x.Length, gamma.Length, stats.Length);
        Require(gradY.Length, size, nameof(gradY));
        Require(gradX.Length, size, nameof(gradX));
        Require(gradGamma.Length, channels, nameof(gradGamma));
        Require(gradBeta.Length, channels, nameof(gradBeta));

        if (BatchSplit<T>.ShouldSplit(batch, size))
        {
            BatchSplit<T>.GroupNormBackward(batch, channels, spatial, groups, x, gamma, stats, gradY, gradX, gradGamma, gradBeta);
            return;
        }
        BackwardSamples(batch, channels, spatial, groups, x, gamma, stats, gradY, gradX, gradGamma, gradBeta, 0, batch, partials: false);
    }

    /// <summary>
    /// Samples [first, last) of <see cref="Backward{T}"/>. With <paramref name="partials"/>, gradGamma and gradBeta are
    /// batch·channels long and receive each sample's own sums at [sample·channels + c] (written), for the caller to add in
    /// sample order: the split path's γ/β gradients then equal the serial ones bit for bit.
    /// </summary>
    internal static void BackwardSamples<T>(int batch, int channels, int spatial, int groups,
        ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> stats, ReadOnlySpan<T> gradY,
        Span<T> gradX, Span<T> gradGamma, Span<T> gradBeta, int first, int last, bool partials)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int perGroup = channels / groups, groupLength = perGroup * spatial, bg = batch * groups;
        T inverseCount = T.One / T.CreateChecked(groupLength);
        for (int n = first * groups; n < last * groups; n++)
        {
            T mean = stats[n], rstd = stats[bg + n];
            int g = n % groups, at = partials ? n / groups * channels : 0;
            var xg = x.Slice(n * groupLength, groupLength);
            var gyg = gradY.Slice(n * groupLength, groupLength);
            // Σ g and Σ g·x̂ per group (g = gradY·γ), and the per-channel γ/β gradients, in one pass.
            T sumG = T.Zero, sumGXhat = T.Zero;
            for (int cl = 0; cl < perGroup; cl++)
            {
                int c = g * perGroup + cl;
                var (sumDy, sumDyCentered) = SpanMath.SumAndProductCentered(gyg.Slice(cl * spatial, spatial), xg.Slice(cl * spatial, spatial), mean);
                T sumDyXhat = sumDyCentered * rstd;
                if (partials)
                {
                    gradGamma[at + c] = sumDyXhat;
                    gradBeta[at + c] = sumDy;
                }
                else
                {
                    gradGamma[c] += sumDyXhat;
                    gradBeta[c] += sumDy;
                }
                sumG += sumDy * gamma[c];
                sumGXhat += sumDyXhat * gamma[c];
            }
            T meanG = sumG * inverseCount, meanGXhat = sumGXhat * inverseCount;
            // gradX = rstd·(dy·γ − meanG − (x − μ)·rstd·meanGXhat), expanded to dy·a + x·b + c.
            T xCoefficient = -rstd * rstd * meanGXhat, constant = -rstd * meanG - mean * xCoefficient;
            var gxg = gradX.Slice(n * groupLength, groupLength);
            for (int cl = 0; cl < perGroup; cl++)
            {
                int o = cl * spatial;
                SpanMath.Combine(gyg.Slice(o, spatial), rstd * gamma[g * perGroup + cl], xg.Slice(o, spatial), xCoefficient, constant, gxg.Slice(o, spatial));
            }
        }
    }

    /// <summary>
    /// Forward mode w.r.t. x only: tangentY = γ·rstd·(ẋ − mean(ẋ) − x̂·mean(x̂·ẋ)) over each group
    /// (the transpose of <see cref="Backward{T}"/>'s gradX map).
    /// </summary>
    public static void JacobianVectorProduct<T>(int batch, int channels, int spatial, int groups,
        ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> stats, ReadOnlySpan<T> tangentX, Span<T> tangentY)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int size = Validate(batch, channels, spatial, groups, x.Length, gamma.Length, stats.Length);
        Require(tangentX.Length, size, nameof(tangentX));
        Require(tangentY.Length, size, nameof(tangentY));

        int perGroup = channels / groups, groupLength = perGroup * spatial, bg = batch * groups;
        T inverseCount = T.One / T.CreateChecked(groupLength);
        for (int n = 0; n < bg; n++)
        {
            T mean = stats[n], rstd = stats[bg + n];
            int g = n % groups;
            var xg = x.Slice(n * groupLength, groupLength);
            var tg = tangentX.Slice(n * groupLength, groupLength);
            var (sumT, sumTCentered) = SpanMath.SumAndProductCentered(tg, xg, mean);
            T meanT = sumT * inverseCount, meanTXhat = sumTCentered * rstd * inverseCount;
            var tyg = tangentY.Slice(n * groupLength, groupLength);
            for (int cl = 0; cl < perGroup; cl++)
            {
                // γ·rstd·(ẋ − meanT − (x − μ)·rstd·meanTXhat), expanded to ẋ·a + x·b + c.
                T scale = gamma[g * perGroup + cl] * rstd, xCoefficient = -scale * rstd * meanTXhat;
                int o = cl * spatial;
                SpanMath.Combine(tg.Slice(o, spatial), scale, xg.Slice(o, spatial), xCoefficient, -scale * meanT - mean * xCoefficient, tyg.Slice(o, spatial));
            }
        }
    }

    private static int Validate(int batch, int channels, int spatial, int groups, int xLength, int gammaLength, int statsLength)
    {
        if (batch < 0) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch must be non-negative.");
        if (channels <= 0) throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be positive.");
        if (spatial <= 0) throw new ArgumentOutOfRangeException(nameof(spatial), spatial, "spatial must be positive.");
        if (groups <= 0 || channels % groups != 0)
            throw new ArgumentException($"groups = {groups} must be positive and divide channels = {channels}.", nameof(groups));
        int size = batch * channels * spatial;
        Require(xLength, size, "x");
        Require(gammaLength, channels, "gamma");
        Require(statsLength, 2 * batch * groups, "stats");
        return size;
    }

    private static void Require(int actual, int needed, string name)
    {
        if (actual < needed)
            throw new ArgumentException($"{name} has {actual} elements but group norm needs {needed}.", name);
    }
}
