using System.Numerics;
using System.Numerics.Tensors;

namespace OdeDsl;

/// <summary>
/// Error norms of the backward solve. The augmented state is one row made of channels: h, a, one channel per
/// parameter tensor of the layout (W1, b1, …) and a_t. The default takes the maximum of the channels' RMS norms
/// (torchdiffeq's default adjoint norm: max(|a_t|, rms(h), rms(a), max over parameter tensors of their rms)) so
/// that the many a_θ entries cannot drown the few h and a entries; the seminorm drops the a_θ and a_t channels
/// (Kidger, Chen &amp; Lyons, ICML 2021).
/// </summary>
internal static class AdjointNorms
{
    /// <summary>[state channels…, one per parameter tensor, a_t] with the first <paramref name="stateChannels"/> under control when seminorm.</summary>
    public static ErrorNorm<T> For<TDynamics, T>(int[] stateChannels, bool seminorm)
        where TDynamics : IOdeDynamics<TDynamics>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var channels = new List<int>(stateChannels);
        int covered = 0;
        foreach (var entry in TDynamics.Layout.Entries)
        {
            channels.Add(entry.Length);
            covered += entry.Length;
        }
        if (covered != TDynamics.ParameterCount)   // a layout that does not describe θ: one channel for all of it
        {
            channels.RemoveRange(stateChannels.Length, channels.Count - stateChannels.Length);
            channels.Add(TDynamics.ParameterCount);
        }
        channels.Add(1);
        return MaxOfChannelRms<T>(channels.ToArray(), seminorm ? stateChannels.Length : channels.Count);
    }

    /// <summary>Channels given as consecutive lengths; <paramref name="controlled"/> leading channels enter the norm.</summary>
    private static ErrorNorm<T> MaxOfChannelRms<T>(int[] channelLengths, int controlled) where T : unmanaged, IFloatingPointIeee754<T>
    {
        return scaledError =>
        {
            T max = T.Zero;
            int offset = 0;
            for (int c = 0; c < controlled; c++)
            {
                int len = channelLengths[c];
                if (len > 0)
                    max = T.Max(max, T.Sqrt(TensorPrimitives.SumOfSquares(scaledError.Slice(offset, len)) / T.CreateChecked(len)));
                offset += len;
            }
            return max;
        };
    }
}
