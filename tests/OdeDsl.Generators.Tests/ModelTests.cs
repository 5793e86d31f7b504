using OdeDsl.Generators.Tests.Models;

namespace OdeDsl.Generators.Tests;

public sealed class LotkaVolterraTests : DynamicsPropertyTests<LotkaVolterra.Dynamics>
{
    protected override float[] Eager(float[] h, float t, float[] theta) => LotkaVolterra.F(new Vec(h), t, new Vec(theta)).ToArray();
}

public sealed class SpiralFieldTests : DynamicsPropertyTests<SpiralField.Dynamics>
{
    protected override float[] Eager(float[] h, float t, float[] θ) =>
        SpiralField.F(new Vec(h), t, M(θ, 0, 50, 2), V(θ, 100, 50), M(θ, 150, 2, 50), V(θ, 250, 2)).ToArray();

    [Fact]
    public void LayoutFollowsPyTorchDefaults()
    {
        var layout = SpiralField.Parameters;
        Assert.Equal(252, layout.Count);
        Assert.Equal(new ParameterInfo("W1", [50, 2], 0, ParameterInit.FanIn(2)).Init, layout["W1"].Init);
        Assert.Equal(ParameterInit.FanIn(2), layout["b1"].Init);   // bias of W1·x: fan-in of W1
        Assert.Equal(ParameterInit.FanIn(50), layout["W2"].Init);
        Assert.Equal(ParameterInit.FanIn(50), layout["b2"].Init);
        Assert.Equal(150, layout["W2"].Offset);
    }
}

public sealed class CnfFieldTests : DynamicsPropertyTests<CnfField.Dynamics>
{
    protected override float[] Eager(float[] h, float t, float[] θ)
    {
        var l = CnfField.Parameters;
        Vec P(string name) => V(θ, l[name].Offset, l[name].Length);
        Mat W(string name) => M(θ, l[name].Offset, l[name].Shape[0], l[name].Shape[1]);
        return CnfField.F(new Vec(h), t, W("W1"), P("b1"), W("W2"), P("b2"), W("W3"), P("b3")).ToArray();
    }
}

public sealed class AllPrimitivesFieldTests : DynamicsPropertyTests<AllPrimitivesField.Dynamics>
{
    // Elu has no IR tangent rule (piecewise derivative)
    protected override bool HasDivergenceVjp => false;

    protected override float[] Eager(float[] h, float t, float[] θ) =>
        AllPrimitivesField.F(new Vec(h), t, M(θ, 0, 3, 3), V(θ, 9, 3), V(θ, 12, 2)).ToArray();
}

public sealed class ConvFieldTests : DynamicsPropertyTests<ConvField.Dynamics>
{
    protected override bool HasDivergenceVjp => false; // a tensor state

    protected override float[] Eager(float[] h, float t, float[] θ)
    {
        var l = ConvField.Parameters;
        Vec P(string name) => V(θ, l[name].Offset, l[name].Length);
        Tensor K(string name) => new(l[name].Shape, θ.AsSpan(l[name].Offset, l[name].Length).ToArray());
        return ConvField.F(new Tensor([4, 5, 5], h), t, P("g1"), P("beta1"), K("K1"), P("c1"),
            P("g2"), P("beta2"), K("K2"), P("c2"), P("g3"), P("beta3")).ToArray();
    }

    [Fact]
    public void NormScaleIsOnesShiftIsZerosAndConvolutionsUseFanIn()
    {
        var l = ConvField.Parameters;
        Assert.Equal(ParameterInit.Ones, l["g1"].Init);
        Assert.Equal(ParameterInit.Zeros, l["beta3"].Init);
        Assert.Equal(ParameterInit.FanIn(5 * 3 * 3), l["K1"].Init);
        Assert.Equal(ParameterInit.FanIn(5 * 3 * 3), l["c2"].Init);
    }
}

public sealed class StridedConvFieldTests : DynamicsPropertyTests<StridedConvField.Dynamics>
{
    protected override bool HasDivergenceVjp => false; // a tensor state

    protected override float[] Eager(float[] h, float t, float[] θ) =>
        StridedConvField.F(new Tensor([3, 2, 2], h), t, new Tensor([3, 4, 2, 2], θ.AsSpan(0, 48).ToArray()), V(θ, 48, 3)).ToArray();
}

public sealed class BiasFusedFieldTests : DynamicsPropertyTests<BiasFusedField.Dynamics>
{
    protected override float[] Eager(float[] h, float t, float[] θ) =>
        BiasFusedField.F(new Vec(h), t, M(θ, 0, 19, 3), V(θ, 57, 19), M(θ, 76, 13, 19), V(θ, 323, 13), M(θ, 336, 3, 13), V(θ, 375, 3)).ToArray();
}

public sealed class BiasNotFusedFieldTests : DynamicsPropertyTests<BiasNotFusedField.Dynamics>
{
    protected override bool HasDivergenceVjp => false; // Relu has no IR tangent rule

    protected override float[] Eager(float[] h, float t, float[] θ) =>
        BiasNotFusedField.F(new Vec(h), t, M(θ, 0, 19, 3), V(θ, 57, 19), M(θ, 76, 13, 19), V(θ, 323, 13), M(θ, 336, 3, 13), V(θ, 375, 3)).ToArray();
}

public sealed class IntegerArithmeticFieldTests : DynamicsPropertyTests<IntegerArithmeticField.Dynamics>
{
    protected override float[] Eager(float[] h, float t, float[] θ) => IntegerArithmeticField.F(new Vec(h), t, new Vec(θ)).ToArray();
}
