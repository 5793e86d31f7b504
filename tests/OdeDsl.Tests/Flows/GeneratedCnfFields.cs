using static OdeDsl.Ops;

namespace OdeDsl.Tests.Flows;

/// <summary>
/// MlpField&lt;SmallSquash&gt; (FFJORD's concatsquash layers, 3 → 6 → 5 → 4 → 3) written in the DSL, θ in the library's
/// layout (W, b, gate, gateBias, hyperBias per layer; gate and hyperBias are [out, 1] there, [out] here: same elements).
/// </summary>
public static partial class DslSquashField
{
    [OdeDynamics]
    internal static Vec F([Shape(3)] Vec h, float t,
                          [Param(6, 3)] Mat W1, [Param(6)] Vec b1, [Param(6)] Vec g1, [Param(6)] Vec gb1, [Param(6)] Vec hb1,
                          [Param(5, 6)] Mat W2, [Param(5)] Vec b2, [Param(5)] Vec g2, [Param(5)] Vec gb2, [Param(5)] Vec hb2,
                          [Param(4, 5)] Mat W3, [Param(4)] Vec b3, [Param(4)] Vec g3, [Param(4)] Vec gb3, [Param(4)] Vec hb3,
                          [Param(3, 4)] Mat W4, [Param(3)] Vec b4, [Param(3)] Vec g4, [Param(3)] Vec gb4, [Param(3)] Vec hb4)
    {
        var x = Tanh((W1 * h + b1) * Sigmoid(g1 * t + gb1) + hb1 * t);
        x = Tanh((W2 * x + b2) * Sigmoid(g2 * t + gb2) + hb2 * t);
        x = Tanh((W3 * x + b3) * Sigmoid(g3 * t + gb3) + hb3 * t);
        return (W4 * x + b4) * Sigmoid(g4 * t + gb4) + hb4 * t;
    }
}

/// <summary>
/// Every primitive with a second-order rule, on a 3-d state: the divergence's VJP is checked against finite differences
/// of the generated divergence on it (scalar broadcasts both ways, slices, Vec.Of, Dot, Sum, Mean, Outer, Transpose).
/// </summary>
public static partial class DslSecondOrderField
{
    [OdeDynamics]
    internal static Vec F([Shape(3)] Vec h, float t, [Param(4, 3)] Mat W, [Param(4)] Vec b, [Param(3, 4)] Mat V, [Param(2)] Vec c)
    {
        var u = Tanh(W * h + b);
        var s = Sigmoid(u) * Softplus(u) + Exp(-Square(u)) - Log(1f + Square(u)) / Sqrt(2f + Square(u));
        var r = Sin(h) * Cos(h[0] * t) + Pow(Exp(h), 1.5f) / (3f + Square(h));
        var q = Dot(u, s) * h + Sum(Square(h)) * Mean(u) - c[0] * h[1];
        var m = Outer(h[0..2], Vec.Of(c[1], h[2]));
        var w = Transpose(m)[1];
        return V * s + 0.1f * r + 0.05f * q + Vec.Of(w[0], h[2] * w[1], -Dot(w, h[1..3]));
    }
}
