using OdeDsl;
using static OdeDsl.Ops;

namespace Spiral;

/// <summary>
/// The learned field of the paper code's ode_demo: Linear(2, 50) – tanh – Linear(50, 2) applied to y³.
/// The source generator turns this method into <c>SpiralField.Dynamics</c> (batched evaluation and VJP) at build time.
/// </summary>
public static partial class SpiralField
{
    [OdeDynamics]
    internal static Vec F([Shape(2)] Vec h, float t,
                          [Param(50, 2)] Mat W1, [Param(50)] Vec b1,
                          [Param(2, 50)] Mat W2, [Param(2)] Vec b2)
        => W2 * Tanh(W1 * (h * h * h) + b1) + b2;
}
