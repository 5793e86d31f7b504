using Microsoft.CodeAnalysis;

namespace OdeDsl.Generators.Tests;

/// <summary>Broken and half-typed dynamics: each gives its ODE diagnostic, and the generator never throws (no CS8785).</summary>
public class DiagnosticsCorpusTests
{
    public static TheoryData<string, string, string> Corpus => new()
    {
        { "ODE0001", "type '", "public static class C { [OdeDynamics] static Vec F([Shape(2)] Vec h) => h; }" },
        { "ODE0002", "while", "public static partial class C { [OdeDynamics] static Vec F([Shape(2)] Vec h) { while (true) { } return h; } }" },
        { "ODE0002", "Console.WriteLine", "public static partial class C { [OdeDynamics] static Vec F([Shape(2)] Vec h) { System.Console.WriteLine(); return h; } }" },
        { "ODE0002", "conditional", "public static partial class C { [OdeDynamics] static Vec F([Shape(2)] Vec h) => h[0] > 0 ? h : -h; }" },
        { "ODE0002", "Helper", "public static partial class C { static Vec Helper(Vec x) => x; [OdeDynamics] static Vec F([Shape(2)] Vec h) => Helper(h); }" },
        { "ODE0002", "computed matrix", "public static partial class C { [OdeDynamics] static Vec F([Shape(2)] Vec h, [Param(2)] Vec a) => Outer(a, h) * h; }" },
        { "ODE0003", "[50, 2]", "public static partial class C { [OdeDynamics] static Vec F([Shape(3)] Vec h, [Param(50, 2)] Mat W1) => W1 * (h * h * h); }" },
        { "ODE0003", "[3]", "public static partial class C { [OdeDynamics] static Vec F([Shape(3)] Vec h, [Param(2)] Vec b) => h + b; }" },
        { "ODE0003", "outside", "public static partial class C { [OdeDynamics] static Vec F([Shape(2)] Vec h) => Vec.Of(h[1], h[2]); }" },
        { "ODE0003", "[4, 3, 3, 3]", "public static partial class C { [OdeDynamics] static Tensor F([Shape(2, 5, 5)] Tensor h, [Param(4, 3, 3, 3)] Tensor K, [Param(4)] Vec c) => Conv2d(h, K, c); }" },
        { "ODE0003", "groups", "public static partial class C { [OdeDynamics] static Tensor F([Shape(6, 2, 2)] Tensor h, [Param(6)] Vec g, [Param(6)] Vec b) => GroupNorm(h, groups: 4, g, b); }" },
        { "ODE0004", "'h'", "public static partial class C { [OdeDynamics] static Vec F(Vec h, float t) => h; }" },
        { "ODE0005", "returns [3] for state [2]", "public static partial class C { [OdeDynamics] static Vec F([Shape(2)] Vec h) => Concat(h, 1f); }" },
        { "ODE0006", "'θ' is written", "public static partial class C { [OdeDynamics] static Vec F([Shape(2)] Vec h, [Param(2)] Vec θ) { θ = h; return h; } }" },
        { "ODE0006", "'scale' is read", "public static partial class C { static float scale = 2; [OdeDynamics] static Vec F([Shape(2)] Vec h) => h * scale; }" },
        { "ODE0007", "static", "public partial class C { [OdeDynamics] Vec F([Shape(2)] Vec h) => h; }" },
        { "ODE0007", "neither", "public static partial class C { [OdeDynamics] static Vec F([Shape(2)] Vec h, float t, Vec extra) => h; }" },
        { "ODE0007", "no time argument", "public static partial class C { [Differentiable] static Vec F([Shape(2)] Vec x, float t) => x; }" },
        // half-typed code: the user is still writing it
        { "ODE0002", "", "public static partial class C { [OdeDynamics] static Vec F([Shape(2)] Vec h) => Tan(h; }" },
        { "ODE0002", "", "public static partial class C { [OdeDynamics] static Vec F([Shape(2)] Vec h) { var x = ; return x; } }" },
        { "ODE0002", "", "public static partial class C { [OdeDynamics] static Vec F([Shape(2)] Vec h) => h * undefinedThing; }" },
        { "ODE0004", "", "public static partial class C { [OdeDynamics] static Vec F() => default; }" },
    };

    [Theory]
    [MemberData(nameof(Corpus))]
    public void BrokenMethodGivesItsDiagnosticAndNoException(string id, string fragment, string body)
    {
        var result = GeneratorDriverHelper.Run(GeneratorDriverHelper.Usings + body);
        var all = result.Run.Diagnostics.ToArray();
        Assert.DoesNotContain(result.DriverDiagnostics, d => d.Id == "CS8785");
        Assert.DoesNotContain(all, d => d.Id == "CS8785" || d.Id == "ODE0008");
        Assert.Null(result.Run.Results[0].Exception);
        var d = Assert.Single(all, x => x.Id.StartsWith("ODE"));
        Assert.Equal(id, d.Id);
        Assert.Contains(fragment, d.GetMessage());
        Assert.NotEqual(Location.None, d.Location);
        Assert.Empty(result.Run.Results[0].GeneratedSources);
    }
}
