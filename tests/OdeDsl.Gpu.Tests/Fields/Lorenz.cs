using OdeDsl;

namespace OdeDsl.Gpu.Tests.Fields;

/// <summary>Lorenz (1963) with θ = [σ, ρ, β]; the system of DiffEqGPU's ensemble benchmark (σ = 10, ρ = 28, β = 8/3).</summary>
public static partial class Lorenz
{
    [OdeDynamics]
    internal static Vec F([Shape(3)] Vec h, float t, [Param(3)] Vec θ)
    {
        var (x, y, z) = (h[0], h[1], h[2]);
        return Vec.Of(θ[0] * (y - x), x * (θ[1] - z) - y, x * y - θ[2] * z);
    }
}
