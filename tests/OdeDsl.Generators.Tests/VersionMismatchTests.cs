using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using OdeDsl.Generators.Diagnostics;

namespace OdeDsl.Generators.Tests;

/// <summary>ODE0009: a consumer whose OdeDsl runtime is another version than the generator gets one clear diagnostic.</summary>
public class VersionMismatchTests
{
    private const string Method = "public static partial class C { [OdeDynamics] static Vec F([Shape(2)] Vec h) => h * h; }";

    /// <summary>A stand-in OdeDsl runtime of version 9.9.0 with just enough surface for the method above to bind.</summary>
    /// <summary>The platform without the test's own OdeDsl.dll (the test host has it loaded).</summary>
    private static readonly MetadataReference[] s_platform =
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
        .Where(p => Path.GetFileNameWithoutExtension(p) != "OdeDsl")
        .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToArray();

    private static MetadataReference OtherRuntime()
    {
        const string source = """
            [assembly: System.Reflection.AssemblyVersion("9.9.0.0")]
            [assembly: System.Reflection.AssemblyInformationalVersion("9.9.0+0123abc")]
            namespace OdeDsl
            {
                [System.AttributeUsage(System.AttributeTargets.Method)] public sealed class OdeDynamicsAttribute : System.Attribute { }
                [System.AttributeUsage(System.AttributeTargets.Parameter)] public sealed class ShapeAttribute : System.Attribute { public ShapeAttribute(params int[] dims) { } }
                public readonly struct Vec { public static Vec operator *(Vec a, Vec b) => a; }
            }
            """;
        var runtime = CSharpCompilation.Create("OdeDsl", [CSharpSyntaxTree.ParseText(source)], s_platform,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        using var image = new MemoryStream();
        var emit = runtime.Emit(image);
        Assert.True(emit.Success, string.Join("\n", emit.Diagnostics));
        return MetadataReference.CreateFromImage(image.ToArray());
    }

    [Fact]
    public void OtherRuntimeVersionGivesOde0009AndNoCode()
    {
        var consumer = CSharpCompilation.Create("Consumer",
            [CSharpSyntaxTree.ParseText("using OdeDsl;\n" + Method, GeneratorDriverHelper.ParseOptions, path: "Demo.cs")],
            s_platform.Append(OtherRuntime()), new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        Assert.Empty(consumer.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));

        var result = GeneratorDriverHelper.Run(consumer);
        var d = Assert.Single(result.Run.Diagnostics, x => x.Id.StartsWith("ODE"));
        Assert.Equal("ODE0009", d.Id);
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        string message = d.GetMessage();
        Assert.Contains("runtime is version 9.9.0;", message);
        Assert.Contains($"generator is version {RuntimeVersionCheck.GeneratorVersion} ", message);
        Assert.Empty(result.Run.Results[0].GeneratedSources);
        Assert.Null(result.Run.Results[0].Exception);
    }

    [Fact]
    public void SameRuntimeVersionGeneratesWithoutOde0009()
    {
        var result = GeneratorDriverHelper.Run(GeneratorDriverHelper.Usings + Method);
        Assert.DoesNotContain(result.Run.Diagnostics, d => d.Id.StartsWith("ODE"));
        Assert.NotEmpty(result.Run.Results[0].GeneratedSources);
    }

    [Fact]
    public void GeneratorAndRuntimeTakeTheOneOdeDslVersion()
    {
        // both assemblies get Version from OdeDslVersion in Directory.Build.props; build metadata (+commit) is ignored
        string runtime = typeof(Vec).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];
        Assert.Equal(runtime, RuntimeVersionCheck.GeneratorVersion);
        Assert.Matches(@"^\d+\.\d+\.\d+", runtime);
    }
}
