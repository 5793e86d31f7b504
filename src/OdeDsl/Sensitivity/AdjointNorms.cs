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
    public static ErrorNorm<T> For<TDynamics, T>(int[] stateChannels, bool seminorm, int[]? stateGroups = null, bool timeInNorm = true)
        where TDynamics : IOdeDynamics<TDynamics>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (stateGroups is not null) return Grouped<TDynamics, T>(stateChannels, seminorm, stateGroups, timeInNorm);
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
        // a_t is the last channel: leaving it out of the controlled prefix keeps it integrated but out of the norm
        return MaxOfChannelRms<T>(channels.ToArray(), seminorm ? stateChannels.Length : timeInNorm ? channels.Count : channels.Count - 1);
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

    /// <summary>
    /// As <see cref="For{TDynamics, T}"/>, but each state block (h, a) of [batch, StateSize] contributes one RMS channel per
    /// group of row components instead of one for the whole block (torchdiffeq's mixed norm of a tuple state).
    /// </summary>
    private static ErrorNorm<T> Grouped<TDynamics, T>(int[] stateChannels, bool seminorm, int[] groups, bool timeInNorm)
        where TDynamics : IOdeDynamics<TDynamics>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int S = TDynamics.StateSize;
        if (groups.Length == 0 || groups.Any(g => g < 1) || groups.Sum() != S)
            throw new ArgumentException(
                $"AdjointOptions.StateGroups [{string.Join(", ", groups)}] must be positive lengths summing to StateSize {S}.", nameof(groups));
        var rest = For<TDynamics, T>([.. stateChannels.Select(_ => 0)], seminorm, null, timeInNorm); // parameter and a_t channels, after the blocks
        int stateLength = stateChannels.Sum();
        return scaledError =>
        {
            T max = T.Zero;
            int offset = 0;
            foreach (int n in stateChannels)
            {
                int rows = n / S;
                for (int g = 0, start = 0; g < groups.Length; start += groups[g], g++)
                {
                    T sum = T.Zero;
                    for (int b = 0; b < rows; b++)
                        sum += TensorPrimitives.SumOfSquares(scaledError.Slice(offset + b * S + start, groups[g]));
                    max = T.Max(max, T.Sqrt(sum / T.CreateChecked(Math.Max(1, rows * groups[g]))));
                }
                offset += n;
            }
            return T.Max(max, rest(scaledError.Slice(stateLength)));
        };
    }
}
