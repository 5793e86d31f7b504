using OdeDsl;
using static OdeDsl.Ops;

namespace OdeDsl.MpiHarness;

/// <summary>A small neural field, 2 → 16 → 2 tanh, time-dependent through Concat(h, t).</summary>
public static partial class HarnessField
{
    [OdeDynamics]
    internal static Vec F([Shape(2)] Vec h, float t, [Param(16, 3)] Mat W1, [Param(16)] Vec b1, [Param(2, 16)] Mat W2, [Param(2)] Vec b2)
        => W2 * Tanh(W1 * Concat(h, t) + b1) + b2;
}
