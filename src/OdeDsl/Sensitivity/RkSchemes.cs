using System.Numerics;

namespace OdeDsl;

/// <summary>The bridge from a solver method to the tableau backprop replays.</summary>
internal static class RkSchemes
{
    public static RkScheme<T> From<T>(OdeMethod method) where T : unmanaged, IFloatingPointIeee754<T> => method switch
    {
        StandInRungeKutta rk => new RkScheme<T>(rk.A, rk.B, rk.C, rk.Interpolation, rk.InterpolationDegree),
        _ => throw new NotSupportedException($"Backprop replays explicit Runge-Kutta steps; {method.Name} is not one. Use Sensitivity.Adjoint()."),
    };
}
