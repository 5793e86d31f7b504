using OdeDsl;
using static OdeDsl.Ops;

namespace Mnist;

// The networks of torchdiffeq's examples/odenet_mnist.py (Chen et al. 2018, §3 and Table 1), written in the DSL.
// GroupNorm(min(32, C), C) everywhere; convolutions have biases as nn.Conv2d does by default.

/// <summary>The ODE block f(h, t): GN–ReLU–ConcatConv(65→64, 3×3, pad 1)–GN–ReLU–ConcatConv–GN on the 64×6×6 state
/// (odenet_mnist's ODEfunc; ConcatConv2d appends t as a constant channel).</summary>
public static partial class OdeBlock
{
    [OdeDynamics]
    internal static Tensor F([Shape(64, 6, 6)] Tensor h, float t,
                             [Param(64)] Vec g1, [Param(64)] Vec beta1, [Param(64, 65, 3, 3)] Tensor K1, [Param(64)] Vec c1,
                             [Param(64)] Vec g2, [Param(64)] Vec beta2, [Param(64, 65, 3, 3)] Tensor K2, [Param(64)] Vec c2,
                             [Param(64)] Vec g3, [Param(64)] Vec beta3)
    {
        var x = Relu(GroupNorm(h, groups: 32, g1, beta1));
        x = Conv2d(ConcatChannel(x, t), K1, c1, padding: 1);
        x = Relu(GroupNorm(x, groups: 32, g2, beta2));
        x = Conv2d(ConcatChannel(x, t), K2, c2, padding: 1);
        return GroupNorm(x, groups: 32, g3, beta3);
    }
}

/// <summary>Downsampling, shared by the ODE-Net, RK-Net and ResNet: 1×28×28 → 64×26×26 → 64×13×13 → 64×6×6.</summary>
public static partial class Downsampling
{
    [Differentiable]
    internal static Tensor Down([Shape(1, 28, 28)] Tensor x,
                                [Param(64, 1, 3, 3)] Tensor K1, [Param(64)] Vec c1, [Param(64)] Vec g1, [Param(64)] Vec beta1,
                                [Param(64, 64, 4, 4)] Tensor K2, [Param(64)] Vec c2, [Param(64)] Vec g2, [Param(64)] Vec beta2,
                                [Param(64, 64, 4, 4)] Tensor K3, [Param(64)] Vec c3)
    {
        var y = Relu(GroupNorm(Conv2d(x, K1, c1), groups: 32, g1, beta1));
        y = Relu(GroupNorm(Conv2d(y, K2, c2, stride: 2, padding: 1), groups: 32, g2, beta2));
        return Conv2d(y, K3, c3, stride: 2, padding: 1);
    }
}

/// <summary>The classifier head: GN–ReLU–global average pool–Linear(64, 10).</summary>
public static partial class Classifier
{
    [Differentiable]
    internal static Vec Head([Shape(64, 6, 6)] Tensor x, [Param(64)] Vec g, [Param(64)] Vec beta, [Param(10, 64)] Mat W, [Param(10)] Vec b)
        => W * GlobalAvgPool(Relu(GroupNorm(x, groups: 32, g, beta))) + b;
}

/// <summary>One pre-activation residual block of odenet_mnist's ResNet: x + conv(ReLU(GN(conv(ReLU(GN(x)))))).
/// The ResNet baseline applies six of them, each with its own parameters.</summary>
public static partial class Residual
{
    [Differentiable]
    internal static Tensor Block([Shape(64, 6, 6)] Tensor x,
                                 [Param(64)] Vec g1, [Param(64)] Vec beta1, [Param(64, 64, 3, 3)] Tensor K1, [Param(64)] Vec c1,
                                 [Param(64)] Vec g2, [Param(64)] Vec beta2, [Param(64, 64, 3, 3)] Tensor K2, [Param(64)] Vec c2)
    {
        var y = Conv2d(Relu(GroupNorm(x, groups: 32, g1, beta1)), K1, c1, padding: 1);
        return x + Conv2d(Relu(GroupNorm(y, groups: 32, g2, beta2)), K2, c2, padding: 1);
    }
}

/// <summary>Table 1's one-hidden-layer MLP: 784 → 300 ReLU → 10 (0.24 M parameters; LeCun et al. 1998's 1-layer net).</summary>
public static partial class Perceptron
{
    [Differentiable]
    internal static Vec Mlp([Shape(784)] Vec x, [Param(300, 784)] Mat W1, [Param(300)] Vec b1, [Param(10, 300)] Mat W2, [Param(10)] Vec b2)
        => W2 * Relu(W1 * x + b1) + b2;
}
