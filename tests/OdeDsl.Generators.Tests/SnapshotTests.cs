using Microsoft.CodeAnalysis;

namespace OdeDsl.Generators.Tests;

/// <summary>The generated source of each DSL.md example, compared with Snapshots/*.verified.cs, and compiled cleanly.</summary>
public class SnapshotTests
{
    public static TheoryData<string, string> Examples => new()
    {
        { "LotkaVolterra", """
            public static partial class LotkaVolterra
            {
                [OdeDynamics]
                static Vec F([Shape(2)] Vec h, float t, [Param(4)] Vec θ)
                {
                    var (x, y) = (h[0], h[1]);
                    return Vec.Of(θ[0] * x - θ[1] * x * y,
                                 -θ[2] * y + θ[3] * x * y);
                }
            }
            """ },
        { "SpiralField", """
            namespace Demo;
            public static partial class SpiralField
            {
                [OdeDynamics]
                static Vec F([Shape(2)] Vec h, float t,
                             [Param(50, 2)] Mat W1, [Param(50)] Vec b1,
                             [Param(2, 50)] Mat W2, [Param(2)] Vec b2)
                    => W2 * Tanh(W1 * (h * h * h) + b1) + b2;
            }
            """ },
        { "CnfField", """
            namespace Demo;
            public static partial class CnfField
            {
                [OdeDynamics]
                static Vec F([Shape(2)] Vec h, float t, [Param(64, 3)] Mat W1, [Param(64)] Vec b1,
                             [Param(64, 65)] Mat W2, [Param(64)] Vec b2, [Param(2, 65)] Mat W3, [Param(2)] Vec b3)
                {
                    var x = Tanh(W1 * Concat(h, t) + b1);
                    x = Tanh(W2 * Concat(x, t) + b2);
                    return W3 * Concat(x, t) + b3;
                }
            }
            """ },
        { "ConvField", """
            namespace Demo;
            public static partial class ConvField
            {
                [OdeDynamics]
                static Tensor F([Shape(64, 6, 6)] Tensor h, float t,
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
            """ },
        { "StridedConv", """
            namespace Demo;
            public static partial class StridedConv
            {
                [OdeDynamics]
                static Tensor F([Shape(8, 2, 2)] Tensor h, float t, [Param(8, 8, 2, 2)] Tensor K, [Param(8)] Vec c)
                    => Tanh(Conv2d(h, K, c, stride: 2, padding: 1)) * 0.5f + h;
            }
            """ },
        { "DifferentiableHead", """
            namespace Demo;
            public static partial class Head
            {
                [Differentiable]
                static Vec Logits([Shape(4)] Vec features, [Param(3, 4)] Mat W, [Param(3)] Vec b) => W * Relu(features) + b;
            }
            """ },
        { "TwoMethods", """
            namespace Demo;
            public partial class Outer
            {
                internal partial struct Pair
                {
                    [OdeDynamics]
                    static Vec Decay([Shape(3)] Vec h, [Param(3, Init = ParamInit.Ones)] Vec k) => -k * h;
                    [OdeDynamics]
                    static Vec Rotate([Shape(2)] Vec h, double t) => Vec.Of(-h[1], h[0]) * Cos((float)t);
                }
            }
            """ },
    };

    [Theory]
    [MemberData(nameof(Examples))]
    public void GeneratedSourceMatchesSnapshotAndCompiles(string name, string body)
    {
        var result = GeneratorDriverHelper.Run(GeneratorDriverHelper.Usings + body);
        Assert.Empty(result.DriverDiagnostics);
        var errors = result.Output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToArray();
        Assert.True(errors.Length == 0, string.Join("\n", errors.Select(e => e.ToString())));
        foreach (var source in result.Run.Results[0].GeneratedSources)
            Snapshot.Match(source.SourceText.ToString(), name + "." + source.HintName.Replace(".OdeDsl.g.cs", ""));
    }

    [Fact]
    public void UnrelatedEditIsCachedAndBodyEditIsNot()
    {
        const string source = GeneratorDriverHelper.Usings + """
            public static partial class S { [OdeDynamics] static Vec F([Shape(2)] Vec h) => Tanh(h); }
            """;
        var first = GeneratorDriverHelper.Run(source);
        var comp = GeneratorDriverHelper.Compile(source);
        var edited = comp.AddSyntaxTrees(Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText("class Unrelated { }", GeneratorDriverHelper.ParseOptions));
        var second = GeneratorDriverHelper.Run(edited, first.Driver);
        var steps = second.Run.Results[0].TrackedSteps[OdeDynamicsGenerator.ParseStep];
        Assert.All(steps.SelectMany(s => s.Outputs), o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, o.Reason.ToString()));

        var changed = GeneratorDriverHelper.Compile(source.Replace("Tanh(h)", "Sin(h)"));
        var third = GeneratorDriverHelper.Run(changed, first.Driver);
        Assert.Contains(third.Run.Results[0].TrackedSteps[OdeDynamicsGenerator.ParseStep].SelectMany(s => s.Outputs),
            o => o.Reason == IncrementalStepRunReason.Modified);
    }
}
