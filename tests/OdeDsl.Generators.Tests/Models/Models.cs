using OdeDsl;
using static OdeDsl.Ops;

namespace OdeDsl.Generators.Tests.Models;

// The DSL.md examples, compiled with the generator running as an analyzer on this project.
// Methods are internal (not private) so that the tests can call them eagerly as the reference.

public static partial class LotkaVolterra
{
    [OdeDynamics]
    internal static Vec F([Shape(2)] Vec h, float t, [Param(4)] Vec θ)
    {
        var (x, y) = (h[0], h[1]);
        return Vec.Of(θ[0] * x - θ[1] * x * y,
                     -θ[2] * y + θ[3] * x * y);
    }
}

public static partial class SpiralField
{
    [OdeDynamics]
    internal static Vec F([Shape(2)] Vec h, float t,
                          [Param(50, 2)] Mat W1, [Param(50)] Vec b1,
                          [Param(2, 50)] Mat W2, [Param(2)] Vec b2)
        => W2 * Tanh(W1 * (h * h * h) + b1) + b2;
}

/// <summary>A CNF vector field: 2 → 64 → 64 → 2 with tanh, time concatenated to every layer's input (FFJORD style).</summary>
public static partial class CnfField
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

/// <summary>Every primitive at least once, on smooth inputs (Log and Sqrt see positive arguments only).</summary>
public static partial class AllPrimitivesField
{
    const float Half = 0.5f;

    [OdeDynamics]
    internal static Vec F([Shape(3)] Vec h, float t, [Param(3, 3)] Mat W, [Param(3)] Vec b, [Param(2)] Vec c)
    {
        var u = Tanh(W * h + b);
        var v = Transpose(W) * Sigmoid(h) - Softplus(u) / (2f + Exp(Sin(h)));
        var m = Outer(h[0..2], Vec.Of(c[0], t));
        float s = Sum(Transpose(m)[1]) + Mean(Elu(h)) * Dot(h, Cos(h));
        var w = Concat(Vec.Of(Sqrt(1f + Square(h[0]))), Log(1f + Square(h[1..3])));
        for (int i = 0; i < 2; i++)
            w = w + Pow(Exp(h), 1.5f) * 0.1f - Abs(v) * Half;
        w += Relu(u + 0.25f) * c[1];
        return u * s - w + (-v) / (3f + t * t);
    }
}

/// <summary>The ODE-Net field of DSL.md §3 at a small size: GN–ReLU–ConcatConv–GN–ReLU–ConcatConv–GN on a [4, 5, 5] state.</summary>
public static partial class ConvField
{
    [OdeDynamics]
    internal static Tensor F([Shape(4, 5, 5)] Tensor h, float t,
                             [Param(4)] Vec g1, [Param(4)] Vec beta1, [Param(4, 5, 3, 3)] Tensor K1, [Param(4)] Vec c1,
                             [Param(4)] Vec g2, [Param(4)] Vec beta2, [Param(4, 5, 3, 3)] Tensor K2, [Param(4)] Vec c2,
                             [Param(4)] Vec g3, [Param(4)] Vec beta3)
    {
        var x = Relu(GroupNorm(h, groups: 2, g1, beta1));
        x = Conv2d(ConcatChannel(x, t), K1, c1, padding: 1);
        x = Relu(GroupNorm(x, groups: 2, g2, beta2));
        x = Conv2d(ConcatChannel(x, t), K2, c2, padding: 1);
        return GroupNorm(x, groups: 2, g3, beta3);
    }
}


/// <summary>A strided, padded convolution whose output happens to keep the state's shape: (2 + 2·1 − 2)/2 + 1 = 2.</summary>
public static partial class StridedConvField
{
    [OdeDynamics]
    internal static Tensor F([Shape(3, 2, 2)] Tensor h, float t, [Param(3, 4, 2, 2)] Tensor K, [Param(3)] Vec c)
        => Tanh(Conv2d(ConcatChannel(h, t), K, c, stride: 2, padding: 1)) * 0.5f + h * h;
}

/// <summary>[Differentiable] helpers (not right-hand sides): a classifier head and a pooled convolutional feature.</summary>
public static partial class Heads
{
    [Differentiable]
    internal static Vec Classifier([Shape(3)] Vec x, [Param(2, 3)] Mat W, [Param(2)] Vec b) => Tanh(W * x + b) * Sum(x);

    [Differentiable]
    internal static float Energy([Shape(2, 3, 3)] Tensor x, [Param(2, 2, 3, 3)] Tensor K, [Param(2)] Vec c)
        => Mean(Softplus(Conv2d(x, K, c, padding: 1))) + Sum(x * x);

    /// <summary>The ODE-Net head: average pooling, global average pooling, then a linear layer.</summary>
    [Differentiable]
    internal static Vec PooledHead([Shape(2, 4, 4)] Tensor x, [Param(3, 2)] Mat W, [Param(3)] Vec b)
        => W * GlobalAvgPool(Square(AvgPool(x, kernel: 2, stride: 1))) + b;
}

/// <summary>
/// Bias adds that the emitter fuses into their activation (BiasActivations): σ, tanh with the bias on the left, and
/// exp; 19 and 13 columns, so the kernels' row tails are exercised. The same text is in BiasFusionTests.Fused.
/// </summary>
public static partial class BiasFusedField
{
    [OdeDynamics]
    internal static Vec F([Shape(3)] Vec h, float t, [Param(19, 3)] Mat W1, [Param(19)] Vec b1,
                          [Param(13, 19)] Mat W2, [Param(13)] Vec b2, [Param(3, 13)] Mat W3, [Param(3)] Vec b3)
    {
        var u = Sigmoid(W1 * h + b1);
        var v = Tanh(b2 + W2 * u);
        return Exp(W3 * v + b3) * 0.5f - h * 0.25f;
    }
}

/// <summary>
/// Bias adds that must not be fused: z is read twice (by tanh and by the sum), relu's derivative reads its input,
/// softplus has no fused kernel. The same text is in BiasFusionTests.NotFused.
/// </summary>
public static partial class BiasNotFusedField
{
    [OdeDynamics]
    internal static Vec F([Shape(3)] Vec h, float t, [Param(19, 3)] Mat W1, [Param(19)] Vec b1,
                          [Param(13, 19)] Mat W2, [Param(13)] Vec b2, [Param(3, 13)] Mat W3, [Param(3)] Vec b3)
    {
        var z = W1 * h + b1;
        var a = Tanh(z) + z * 0.5f;
        var r = Relu(W2 * a + b2);
        return Softplus(W3 * r + b3) - h * 0.25f;
    }
}

/// <summary>
/// Integer arithmetic keeps C#'s meaning: 1 / 2 is 0, (int)2.7f is 2 and i / 2 in an unrolled loop truncates
/// (the generator once folded them as real numbers, so generated and eager results differed).
/// </summary>
public static partial class IntegerArithmeticField
{
    [OdeDynamics]
    internal static Vec F([Shape(4)] Vec h, float t, [Param(4)] Vec θ)
    {
        var r = h * (1 / 2) + θ * (int)2.7f;
        for (int i = 0; i < 4; i++) r = r + h * (i / 2) * θ[i];
        return r;
    }
}
