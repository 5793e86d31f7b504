using System.Numerics;

namespace OdeDsl;

/// <summary>
/// Error norms of the backward solve. The augmented state is one row made of channels (h, a, a_θ, a_t);
/// the default takes the maximum of the channels' RMS norms (torchdiffeq's default adjoint norm) so that the
/// many a_θ entries cannot drown the few h and a entries; the seminorm drops the a_θ and a_t channels
/// (Kidger, Chen &amp; Lyons, ICML 2021).
/// </summary>
internal static class AdjointNorms
{
    /// <summary>Channels given as consecutive lengths; <paramref name="controlled"/> leading channels enter the norm.</summary>
    public static ErrorNorm<T> MaxOfChannelRms<T>(int[] channelLengths, int controlled) where T : unmanaged, IFloatingPointIeee754<T>
    {
        return scaledError =>
        {
            T max = T.Zero;
            int offset = 0;
            for (int c = 0; c < controlled; c++)
            {
                int len = channelLengths[c];
                if (len > 0)
                {
                    T sum = T.Zero;
                    foreach (T e in scaledError.Slice(offset, len)) sum += e * e;
                    max = T.Max(max, T.Sqrt(sum / T.CreateChecked(len)));
                }
                offset += len;
            }
            return max;
        };
    }
}
