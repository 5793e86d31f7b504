using System.Numerics;
using System.Numerics.Tensors;

namespace OdeDsl.Flows;

/// <summary>Error norms for states made of several parts, such as a CNF's [z, Δlog p].</summary>
public static class FlowNorms
{
    /// <summary>
    /// The maximum over groups of a row's components (consecutive lengths summing to <paramref name="stateSize"/>) of
    /// the RMS of that group over all rows: torchdiffeq's mixed norm for a tuple state (z, Δlog p), which it uses by
    /// default when odeint is given a tuple, as torchdiffeq's examples/cnf.py and FFJORD do. A constant group (ε) adds 0.
    /// </summary>
    public static ErrorNorm<T> Mixed<T>(int stateSize, params int[] groups) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(groups);
        if (groups.Sum() != stateSize)
            throw new ArgumentException($"Groups [{string.Join(", ", groups)}] must be positive lengths summing to the state size {stateSize}.", nameof(groups));
        return MixedOver<T>(stateSize, groups);
    }

    /// <summary>
    /// As <see cref="Mixed{T}"/>, but the groups may cover only a leading part of each row: the components after them
    /// stay out of error control, as FFJORD and RNODE give their regularisation states tolerances of 1e20.
    /// </summary>
    public static ErrorNorm<T> MixedOver<T>(int stateSize, params int[] groups) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(groups);
        if (groups.Length == 0 || groups.Any(g => g < 1) || groups.Sum() > stateSize)
            throw new ArgumentException($"Groups [{string.Join(", ", groups)}] must be positive lengths summing to at most the state size {stateSize}.", nameof(groups));
        return scaled =>
        {
            int rows = scaled.Length / stateSize;
            T max = T.Zero;
            for (int g = 0, start = 0; g < groups.Length; start += groups[g], g++)
            {
                T sum = T.Zero;
                for (int b = 0; b < rows; b++) sum += TensorPrimitives.SumOfSquares(scaled.Slice(b * stateSize + start, groups[g]));
                max = T.Max(max, T.Sqrt(sum / T.CreateChecked(Math.Max(1, rows * groups[g]))));
            }
            return max;
        };
    }
}
