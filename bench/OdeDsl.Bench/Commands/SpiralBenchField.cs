using OdeDsl;
using static OdeDsl.Ops;

namespace OdeDsl.Bench.Commands;

/// <summary>ode_demo's field, f(y) = W2·tanh(W1·y³ + b1) + b2, generated (the same source as examples/Spiral).</summary>
public static partial class SpiralBenchField
{
    [OdeDynamics]
    internal static Vec F([Shape(2)] Vec h, float t,
                          [Param(50, 2)] Mat W1, [Param(50)] Vec b1,
                          [Param(2, 50)] Mat W2, [Param(2)] Vec b2)
        => W2 * Tanh(W1 * (h * h * h) + b1) + b2;
}
