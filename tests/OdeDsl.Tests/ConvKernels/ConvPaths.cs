using System.Numerics;
using OdeDsl.Tensors;

namespace OdeDsl.Tests.ConvKernels;

/// <summary>
/// Runs Im2Col and whole convolutions with the small / AVX-512 paths on or off (<see cref="Im2Col.SmallPathsOff"/>), so
/// the path tests can compare a fast path with the generic one bit for bit. The switch is reset however the call ends.
/// </summary>
internal static class ConvPaths
{
    /// <summary>Forward, input gradient and weight/bias gradients of one convolution.</summary>
    public static (T[] Y, T[] GradX, T[] GradW, T[] GradB) Run<T>(Conv2dShape s, T[] x, T[] w, T[] bias, T[] g, bool smallPathsOff)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var scratch = new T[s.ScratchLength];
        var y = new T[s.OutputLength];
        var gx = new T[s.InputLength];
        var gw = new T[s.WeightLength];
        var gb = new T[s.OutChannels];
        Im2Col.SmallPathsOff = smallPathsOff;
        try
        {
            Conv2d.Forward<T>(s, x, w, bias, y, scratch);
            Conv2d.BackwardInput<T>(s, g, w, gx, scratch);
            Conv2d.BackwardWeight<T>(s, x, g, gw, gb, scratch);
        }
        finally { Im2Col.SmallPathsOff = false; }
        return (y, gx, gw, gb);
    }

    /// <summary>
    /// im2col of one sample into column rows <paramref name="ld"/> apart, inside a buffer filled with −3 that has
    /// <paramref name="guard"/> elements before the first row (and after the last), so stray writes show.
    /// </summary>
    public static float[] Gather(in Conv2dShape s, ReadOnlySpan<float> x, int ld, int guard, bool smallPathsOff)
    {
        int rows = s.PatchSize, cols = s.OutSpatial;
        var dst = new float[rows * ld + 2 * guard];
        dst.AsSpan().Fill(-3f);
        Im2Col.SmallPathsOff = smallPathsOff;
        try { Im2Col.Gather<float>(s, x, dst.AsSpan(guard, (rows - 1) * ld + cols), ld); }
        finally { Im2Col.SmallPathsOff = false; }
        return dst;
    }

    /// <summary>col2im of one sample's column rows (<paramref name="ld"/> apart) into an input buffer filled with −3 with
    /// <paramref name="guard"/> elements on either side.</summary>
    public static float[] Scatter(in Conv2dShape s, ReadOnlySpan<float> col, int ld, int guard, bool smallPathsOff)
    {
        var dst = new float[s.InputLength + 2 * guard];
        dst.AsSpan().Fill(-3f);
        Im2Col.SmallPathsOff = smallPathsOff;
        try { Im2Col.Scatter<float>(s, col, ld, dst.AsSpan(guard, s.InputLength)); }
        finally { Im2Col.SmallPathsOff = false; }
        return dst;
    }
}
