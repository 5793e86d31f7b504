using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace OdeDsl.Generators.Tests;

/// <summary>Runs the generator in memory on a source text, as the compiler would.</summary>
internal static class GeneratorDriverHelper
{
    private static readonly MetadataReference[] s_references =
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
        .Where(p => !Path.GetFileName(p).StartsWith("OdeDsl.Gpu") && !Path.GetFileName(p).StartsWith("ILGPU")) // device code: DeviceSnapshotTests
        .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
        .Append(MetadataReference.CreateFromFile(typeof(OdeDynamicsAttribute).Assembly.Location))
        .ToArray();

    public const string Usings = "using OdeDsl;\nusing static OdeDsl.Ops;\n";

    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Preview);

    public static CSharpCompilation Compile(string source) =>
        CSharpCompilation.Create("Demo", [CSharpSyntaxTree.ParseText(source, ParseOptions, path: "Demo.cs")],
            s_references, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true));

    public sealed record Result(GeneratorDriverRunResult Run, Compilation Output, ImmutableArray<Diagnostic> DriverDiagnostics, GeneratorDriver Driver);

    public static Result Run(string source, GeneratorDriver? driver = null) => Run(Compile(source), driver);

    public static Result Run(Compilation compilation, GeneratorDriver? driver = null)
    {
        driver ??= CSharpGeneratorDriver.Create([new OdeDynamicsGenerator().AsSourceGenerator()],
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        return new Result(driver.GetRunResult(), output, diagnostics, driver);
    }
}
