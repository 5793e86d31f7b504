using OdeDsl.Flows;
using static OdeDsl.Ops;

namespace OdeDsl.Tests.Flows;

public struct SmallHyper : IHyperPlanarSpec
{
    public static int Dimension => 2;
    public static int HyperHidden => 8;
    public static int Width => 6;
}

public struct SmallConcatInput : IMlpFieldSpec
{
    public static int Dimension => 2;
    public static int[] Hidden => [7, 5];
    public static TimeInput Time => TimeInput.ConcatInput;
}

public struct SmallSquash : IMlpFieldSpec
{
    public static int Dimension => 3;
    public static int[] Hidden => [6, 5, 4];
    public static TimeInput Time => TimeInput.ConcatSquash;
}

public struct Every64 : IMlpFieldSpec
{
    public static int Dimension => 2;
    public static int[] Hidden => [64, 64];
    public static TimeInput Time => TimeInput.ConcatEvery;
}

/// <summary>The same field as MlpField&lt;Every64&gt;, written in the DSL: the generator's exact divergence is the reference.</summary>
public static partial class DslCnfField
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

/// <summary>A small hypernetwork planar field (M = 3, hypernetwork 1 → 4 → 4 → 15) in the DSL: slices, scalar broadcast, Dot, Sigmoid.</summary>
public static partial class DslHyperPlanar
{
    // fc3's output laid out column by column ([w·0, w·1, û·0, û·1, ĝ·0, ĝ·1, b], 3 each), so that each is a slice
    [OdeDynamics]
    internal static Vec F([Shape(2)] Vec h, float t,
                          [Param(4, 1)] Mat A1, [Param(4)] Vec c1, [Param(4, 4)] Mat A2, [Param(4)] Vec c2,
                          [Param(21, 4)] Mat A3, [Param(21)] Vec c3)
    {
        var p = A3 * Tanh(A2 * Tanh(A1 * Vec.Of(t) + c1) + c2) + c3;
        var a = Tanh(p[0..3] * h[0] + p[3..6] * h[1] + p[18..21]);
        var u0 = p[6..9] * Sigmoid(p[12..15]);
        var u1 = p[9..12] * Sigmoid(p[15..18]);
        return Vec.Of(Dot(u0, a), Dot(u1, a)) * (1f / 3f);
    }
}
