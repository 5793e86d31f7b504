using OdeDsl;
using static OdeDsl.Ops;

namespace Cnf;

/// <summary>
/// `toy --field dsl`: FFJORD's toy field (concatsquash 2 → 64 → 64 → 64 → 2, tanh; Grathwohl et al. 2019,
/// ConcatSquashLinear: (W x + b) ⊙ σ(g·t + g_b) + h·t) written as an ordinary DSL method. The generator gives it the exact
/// divergence and that divergence's VJP, and <see cref="OdeDsl.Flows.GeneratedCnfField{TDynamics}"/> trains it as a CNF.
/// θ is in MlpField&lt;FfjordToySpec&gt;'s layout (per layer W, b, gate, gateBias, hyperBias), so both fields start
/// from the same weights for one seed.
/// </summary>
public static partial class FfjordToyDslField
{
    [OdeDynamics]
    internal static Vec F([Shape(2)] Vec z, float t,
                          [Param(64, 2)] Mat W1, [Param(64)] Vec b1, [Param(64)] Vec g1, [Param(64)] Vec gb1, [Param(64)] Vec hb1,
                          [Param(64, 64)] Mat W2, [Param(64)] Vec b2, [Param(64)] Vec g2, [Param(64)] Vec gb2, [Param(64)] Vec hb2,
                          [Param(64, 64)] Mat W3, [Param(64)] Vec b3, [Param(64)] Vec g3, [Param(64)] Vec gb3, [Param(64)] Vec hb3,
                          [Param(2, 64)] Mat W4, [Param(2)] Vec b4, [Param(2)] Vec g4, [Param(2)] Vec gb4, [Param(2)] Vec hb4)
    {
        var x = Tanh((W1 * z + b1) * Sigmoid(g1 * t + gb1) + hb1 * t);
        x = Tanh((W2 * x + b2) * Sigmoid(g2 * t + gb2) + hb2 * t);
        x = Tanh((W3 * x + b3) * Sigmoid(g3 * t + gb3) + hb3 * t);
        return (W4 * x + b4) * Sigmoid(g4 * t + gb4) + hb4 * t;
    }
}
