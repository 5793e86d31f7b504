using Microsoft.CodeAnalysis;

namespace OdeDsl.Generators.Tests;

/// <summary>One minimal method per primitive: its generated source is a checked-in snapshot and compiles cleanly.</summary>
public class PrimitiveSnapshotTests
{
    public static TheoryData<string, string> Primitives => new()
    {
        { "Add", "[Shape(3)] Vec h, [Param(3)] Vec b) => h + b;" },
        { "Sub", "[Shape(3)] Vec h, float t) => h - t;" },
        { "Mul", "[Shape(3)] Vec h) => h * h;" },
        { "Div", "[Shape(3)] Vec h, [Param(3)] Vec b) => h / (2f + b * b);" },
        { "Neg", "[Shape(3)] Vec h) => -h;" },
        { "Tanh", "[Shape(3)] Vec h) => Tanh(h);" },
        { "Sigmoid", "[Shape(3)] Vec h) => Sigmoid(h * 2f);" },
        { "Relu", "[Shape(3)] Vec h) => Relu(h);" },
        { "Softplus", "[Shape(3)] Vec h) => Softplus(h);" },
        { "Elu", "[Shape(3)] Vec h) => Elu(h);" },
        { "Exp", "[Shape(3)] Vec h) => Exp(h);" },
        { "Log", "[Shape(3)] Vec h) => Log(1f + Square(h));" },
        { "Sin", "[Shape(3)] Vec h) => Sin(h);" },
        { "Cos", "[Shape(3)] Vec h) => Cos(h);" },
        { "Sqrt", "[Shape(3)] Vec h) => Sqrt(1f + Square(h));" },
        { "Abs", "[Shape(3)] Vec h) => Abs(h);" },
        { "Pow", "[Shape(3)] Vec h) => Pow(Exp(h), 1.5f);" },
        { "MatVec", "[Shape(3)] Vec h, [Param(3, 3)] Mat W) => W * h;" },
        { "MatVecTransposed", "[Shape(3)] Vec h, [Param(3, 3)] Mat W) => Transpose(W) * h;" },
        { "Dot", "[Shape(3)] Vec h, [Param(3)] Vec w) => h * Dot(h, w);" },
        { "Sum", "[Shape(3)] Vec h) => h * Sum(h);" },
        { "Mean", "[Shape(3)] Vec h) => h - Mean(h);" },
        { "OuterTranspose", "[Shape(2)] Vec h) => Transpose(Outer(h, Vec.Of(1f, 2f)))[0];" },
        { "ConcatTime", "[Shape(3)] Vec h, float t, [Param(3, 4)] Mat W) => W * Concat(h, t);" },
        { "Slice", "[Shape(3)] Vec h) => Vec.Of(h[2], h[0], h[1]) + Concat(h[1..3], h[0]);" },
        { "Conv2d", "[Shape(2, 4, 4)] Tensor h, [Param(2, 2, 3, 3)] Tensor K, [Param(2)] Vec c) => Conv2d(h, K, c, padding: 1);" },
        { "GroupNorm", "[Shape(4, 2, 2)] Tensor h, [Param(4)] Vec g, [Param(4)] Vec b) => GroupNorm(h, groups: 2, g, b);" },
        { "ConcatChannel", "[Shape(2, 3, 3)] Tensor h, float t, [Param(2, 3, 1, 1)] Tensor K, [Param(2)] Vec c) => Conv2d(ConcatChannel(h, t), K, c);" },
    };

    [Theory]
    [MemberData(nameof(Primitives))]
    public void PrimitiveSnapshot(string name, string signatureTail)
    {
        string returnType = signatureTail.Contains("Tensor h") ? "Tensor" : "Vec";
        string source = GeneratorDriverHelper.Usings +
            $"namespace Demo;\npublic static partial class P{name}\n{{\n    [OdeDynamics]\n    static {returnType} F({signatureTail}\n}}\n";
        var result = GeneratorDriverHelper.Run(source);
        var problems = result.Output.GetDiagnostics().Concat(result.Run.Diagnostics).Where(d => d.Severity >= DiagnosticSeverity.Warning).ToArray();
        Assert.True(problems.Length == 0, string.Join("\n", problems.Select(e => e.ToString())));
        Snapshot.Match(result.Run.Results[0].GeneratedSources.Single().SourceText.ToString(), "Primitive." + name);
    }

    [Fact]
    public void EveryOpKindAppearsInAPrimitiveSnapshotOrTheModels()
    {
        // the primitives above plus the leaves cover every OpKind: a new OpKind must get a row here
        var covered = Primitives.Select(row => (string)row[0]).ToHashSet();
        foreach (var kind in Enum.GetNames<Ir.OpKind>())
            Assert.True(covered.Any(c => c.StartsWith(kind, StringComparison.Ordinal)) || kind is "State" or "Time" or "Param" or "Const" or "Square" or "Outer" or "Transpose" or "Concat" or "AvgPool" or "GlobalAvgPool",
                $"OpKind {kind} has no primitive snapshot");
    }
}
