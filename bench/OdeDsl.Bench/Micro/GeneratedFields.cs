using OdeDsl;
using static OdeDsl.Ops;

namespace OdeDsl.Bench.Micro;

// The issue-3 benchmark systems, written in the DSL; the generator (running as an analyzer on this project)
// emits the nested `Dynamics` types. The methods stay callable as written: that is the eager reference.

/// <summary>torchdiffeq's ode_demo field: 2 → 50 → 2 applied to h³.</summary>
public static partial class BenchSpiralField
{
    [OdeDynamics]
    internal static Vec F([Shape(2)] Vec h, float t,
                          [Param(50, 2)] Mat W1, [Param(50)] Vec b1,
                          [Param(2, 50)] Mat W2, [Param(2)] Vec b2)
        => W2 * Tanh(W1 * (h * h * h) + b1) + b2;
}

/// <summary>An FFJORD-style CNF field: 2 → 64 → 64 → 2, tanh, time appended to every layer's input.</summary>
public static partial class BenchCnfField
{
    [OdeDynamics]
    internal static Vec F([Shape(2)] Vec h, float t,
                          [Param(64, 3)] Mat W1, [Param(64)] Vec b1,
                          [Param(64, 65)] Mat W2, [Param(64)] Vec b2,
                          [Param(2, 65)] Mat W3, [Param(2)] Vec b3)
    {
        var x = Tanh(W1 * Concat(h, t) + b1);
        x = Tanh(W2 * Concat(x, t) + b2);
        return W3 * Concat(x, t) + b3;
    }
}
