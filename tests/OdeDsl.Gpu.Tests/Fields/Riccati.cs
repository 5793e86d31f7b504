using OdeDsl;

namespace OdeDsl.Gpu.Tests.Fields;

/// <summary>dh/dt = k·h²: blows up at t = 1/(k·h0), so trajectories can end in each failure code.</summary>
public static partial class Riccati
{
    [OdeDynamics]
    internal static Vec F([Shape(1)] Vec h, float t, [Param(1)] Vec k) => k * h * h;
}
