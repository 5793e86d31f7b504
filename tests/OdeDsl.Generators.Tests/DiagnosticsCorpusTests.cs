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

    /// <summary>
    /// C# constructs outside the DSL that once passed silently (issue 14): id, a fragment of the message naming the
    /// construct, the source text the diagnostic points at, the method.
    /// </summary>
    public static TheoryData<string, string, string, string> OutsideTheDsl => new()
    {
        { "ODE0007", "'ref' modifier on parameter 'h'", "ref", "[OdeDynamics] static Vec F([Shape(2)] ref Vec h) => h;" },
        { "ODE0007", "'out' modifier on parameter 'θ'", "out", "[OdeDynamics] static Vec F([Shape(2)] Vec h, [Param(2)] out Vec θ) { θ = h; return h; }" },
        { "ODE0007", "'in' modifier on parameter 'h'", "in", "[OdeDynamics] static Vec F([Shape(2)] in Vec h, float t) => h;" },
        { "ODE0007", "'ref readonly' modifier on parameter 'h'", "ref", "[OdeDynamics] static Vec F([Shape(2)] ref readonly Vec h) => h;" },
        { "ODE0007", "'params' modifier on parameter 'extra'", "params", "[OdeDynamics] static Vec F([Shape(2)] Vec h, params float[] extra) => h;" },
        { "ODE0007", "'scoped' modifier on parameter 'h'", "scoped", "[OdeDynamics] static Vec F([Shape(2)] scoped Vec h) => h;" },
        { "ODE0007", "'this' modifier on parameter 'h'", "this", "[OdeDynamics] static Vec F([Shape(2)] this Vec h) => h;" },
        { "ODE0007", "default value '0f' of parameter 't'", "= 0f", "[OdeDynamics] static Vec F([Shape(2)] Vec h, float t = 0f) => h;" },
        { "ODE0007", "'dynamic' type of parameter 'θ'", "dynamic", "[OdeDynamics] static Vec F([Shape(2)] Vec h, [Param(2)] dynamic θ) => h;" },
        { "ODE0007", "parameter 'p' of type 'float*'", "float* p", "[OdeDynamics] static Vec F([Shape(2)] Vec h, float* p) => h;" },
        { "ODE0007", "'async' modifier on 'F'", "async", "[OdeDynamics] static async Vec F([Shape(2)] Vec h) => h;" },
        { "ODE0007", "'unsafe' modifier on 'F'", "unsafe", "[OdeDynamics] static unsafe Vec F([Shape(2)] Vec h) => h;" },
        { "ODE0007", "'extern' modifier on 'F'", "extern", "[OdeDynamics] static extern Vec F([Shape(2)] Vec h);" },
        { "ODE0007", "returns by reference", "ref Vec", "static Vec s; [OdeDynamics] static ref Vec F([Shape(2)] Vec h) => ref s;" },
        { "ODE0007", "return type 'dynamic'", "dynamic", "[OdeDynamics] static dynamic F([Shape(2)] Vec h) => h;" },
        { "ODE0007", "return type 'object'", "object", "[OdeDynamics] static object F([Shape(2)] Vec h) => h;" },
        { "ODE0007", "must not be generic", "<T>", "[OdeDynamics] static Vec F<T>([Shape(2)] Vec h) => h;" },
        { "ODE0007", "'ref' modifier on parameter 'x'", "ref", "[Differentiable] static Vec F([Shape(2)] ref Vec x) => x;" },
        { "ODE0007", "[OdeDynamics] on the local function 'G'", "G", "static Vec F(Vec h) { [OdeDynamics] static Vec G([Shape(2)] Vec x) => x; return G(h); }" },
        { "ODE0007", "[Differentiable] on a lambda", "[Differentiable]", "static System.Func<Vec, float> F = [Differentiable] (Vec x) => Sum(x);" },
        { "ODE0002", "'dynamic' local 'd'", "d = h", "[OdeDynamics] static Vec F([Shape(2)] Vec h) { dynamic d = h; return d; }" },
        { "ODE0002", "'dynamic' value '(dynamic)h * 2f'", "(dynamic)h * 2f", "[OdeDynamics] static Vec F([Shape(2)] Vec h) => (dynamic)h * 2f;" },
        { "ODE0002", "'dynamic' value 'Sum((dynamic)x)'", "Sum((dynamic)x)", "[Differentiable] static float F([Shape(2)] Vec x) => Sum((dynamic)x);" },
        { "ODE0002", "local 'o' of type 'object'", "o = h", "[OdeDynamics] static Vec F([Shape(2)] Vec h) { object o = h; return (Vec)o; }" },
        { "ODE0002", "cast to 'int' of the non-constant value 'h[0]'", "(int)h[0]", "[OdeDynamics] static Vec F([Shape(2)] Vec h) => h * (int)h[0];" },
        { "ODE0002", "'using' declaration", "using var x = h;", "[OdeDynamics] static Vec F([Shape(2)] Vec h) { using var x = h; return x; }" },
        { "ODE0002", "'unsafe' statement", "unsafe", "[OdeDynamics] static Vec F([Shape(2)] Vec h) { unsafe { } return h; }" },
        { "ODE0002", "'localfunction' statement", "Vec G(Vec x) => x;", "[OdeDynamics] static Vec F([Shape(2)] Vec h) { Vec G(Vec x) => x; return G(h); }" },
        { "ODE0002", "lambda", "x => x", "[OdeDynamics] static Vec F([Shape(2)] Vec h) { System.Func<Vec, Vec> f = x => x; return f(h); }" },
        { "ODE0002", "'stackalloc", "stackalloc", "[OdeDynamics] static Vec F([Shape(2)] Vec h) { var s = stackalloc float[2]; return h; }" },
    };

    [Theory]
    [MemberData(nameof(OutsideTheDsl))]
    public void ConstructOutsideTheDslIsNamedAtItsLocation(string id, string fragment, string located, string method)
    {
        var result = GeneratorDriverHelper.Run(GeneratorDriverHelper.Usings + "public static partial class C { " + method + " }");
        var all = result.Run.Diagnostics.ToArray();
        Assert.DoesNotContain(result.DriverDiagnostics, d => d.Id == "CS8785");
        Assert.Null(result.Run.Results[0].Exception);
        var d = Assert.Single(all, x => x.Id.StartsWith("ODE"));
        Assert.Equal(id, d.Id);
        Assert.Contains(fragment, d.GetMessage());
        // the generator's diagnostics carry a file location (no tree: they travel through the cached pipeline)
        Assert.Equal("Demo.cs", d.Location.GetLineSpan().Path);
        var source = result.Output.SyntaxTrees.Single(t => t.FilePath == "Demo.cs").GetText();
        Assert.StartsWith(located, source.ToString(d.Location.SourceSpan));
        Assert.Empty(result.Run.Results[0].GeneratedSources);
    }

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
