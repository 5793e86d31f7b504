using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace OdeDsl.Generators.Tests;

/// <summary>
/// The device (ILGPU) file of each field: emitted only when the compilation references OdeDsl.Gpu, compared with
/// Snapshots/*.Device.verified.cs, compiled cleanly; a field with a primitive that has no device rule gets the
/// informational ODE0100 and no device file, never an error.
/// </summary>
public class DeviceSnapshotTests
{
    private static readonly MetadataReference[] s_withGpu = GpuReferences();

    private static MetadataReference[] GpuReferences()
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator).ToList();
        paths.Add(typeof(OdeDynamicsAttribute).Assembly.Location);
        paths.Add(typeof(OdeDsl.Gpu.DeviceVector<>).Assembly.Location);
        paths.Add(typeof(ILGPU.ArrayView<>).Assembly.Location);
        return paths.Distinct().Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToArray();
    }

    private static GeneratorDriverHelper.Result RunWithGpu(string body) =>
        GeneratorDriverHelper.Run(CSharpCompilation.Create("Demo",
            [CSharpSyntaxTree.ParseText(GeneratorDriverHelper.Usings + body, GeneratorDriverHelper.ParseOptions, path: "Demo.cs")],
            s_withGpu, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true)));

    private static string Body(string name) => SnapshotTests.Examples.Single(row => (string)row[0] == name)[1].ToString()!;

    [Theory]
    [InlineData("LotkaVolterra")]
    [InlineData("SpiralField")]
    [InlineData("CnfField")]
    [InlineData("TwoMethods")]
    public void DeviceSourceMatchesSnapshotAndCompiles(string name)
    {
        var result = RunWithGpu(Body(name));
        Assert.Empty(result.DriverDiagnostics);
        var errors = result.Output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToArray();
        Assert.True(errors.Length == 0, string.Join("\n", errors.Select(e => e.ToString())));
        var device = result.Run.Results[0].GeneratedSources.Where(s => s.HintName.EndsWith(".Device.OdeDsl.g.cs")).ToArray();
        Assert.NotEmpty(device);
        foreach (var source in device)
            Snapshot.Match(source.SourceText.ToString(), name + "." + source.HintName.Replace(".OdeDsl.g.cs", ""));
    }

    [Fact]
    public void WithoutOdeDslGpuThereIsNoDeviceFile()
    {
        var result = GeneratorDriverHelper.Run(GeneratorDriverHelper.Usings + Body("LotkaVolterra"));
        Assert.DoesNotContain(result.Run.Results[0].GeneratedSources, s => s.HintName.Contains(".Device."));
    }

    [Fact]
    public void PrimitiveWithoutDeviceRuleIsAnInformationalNoteNotAnError()
    {
        var result = RunWithGpu(Body("ConvField"));
        var info = Assert.Single(result.Run.Diagnostics, d => d.Id == "ODE0100");
        Assert.Equal(DiagnosticSeverity.Info, info.Severity);
        Assert.Contains("Conv2d", info.GetMessage());
        Assert.DoesNotContain(result.Run.Results[0].GeneratedSources, s => s.HintName.Contains(".Device."));
        Assert.Contains(result.Run.Results[0].GeneratedSources, s => s.HintName.EndsWith("ConvField.F.OdeDsl.g.cs"));
        Assert.Empty(result.Output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
    }
}
