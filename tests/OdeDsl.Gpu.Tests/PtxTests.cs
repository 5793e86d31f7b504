using System.Reflection;
using OdeDsl.Gpu.Ensemble;
using OdeDsl.Gpu.Gradients;

namespace OdeDsl.Gpu.Tests;

// the generator tests' fields (OdeDsl.Models, the library's namespace, would otherwise shadow a bare `Models.`)
using TestModels = OdeDsl.Generators.Tests.Models;

/// <summary>
/// Every generated device type in this assembly (the spiral demo's field, the generator tests' models, Lorenz, Riccati)
/// compiles to PTX inside the ensemble kernel, in double and float, with no GPU present (ILGPU's PTX backend for SM 8.0).
/// </summary>
public class PtxTests
{
    /// <summary>
    /// Every generated device type; PTX compilation costs 1–13 s per kernel on two shared cores (the software double
    /// math of ILGPU.Algorithms is the heavy part), so CI compiles <see cref="CiSubset"/>; ODEDSL_GPU_TESTS=full runs the
    /// whole matrix (every type, the ensemble kernel and the four device functions) on a machine with the SDK and time.
    /// </summary>
    public static IEnumerable<Type> AllDeviceTypes() =>
        typeof(PtxTests).Assembly.GetTypes().Where(t => t.IsValueType && (t.Name == "F64" || t.Name == "F32")
            && t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDeviceDynamics<>)));

    private static readonly string[] CiSubset = ["Lorenz", "SpiralField", "CnfField", "AllPrimitivesField"];

    private static bool Full => Environment.GetEnvironmentVariable("ODEDSL_GPU_TESTS") == "full";

    public static TheoryData<Type> DeviceTypes()
    {
        var data = new TheoryData<Type>();
        foreach (var t in AllDeviceTypes())
        {
            string field = t.DeclaringType!.DeclaringType!.Name;
            // CI: both precisions for Lorenz, float for the all-primitives field (its double math is the slowest), double for the rest
            bool ci = CiSubset.Contains(field) && (field == "Lorenz" || (field == "AllPrimitivesField") == (t.Name == "F32"));
            if (Full || ci) data.Add(t);
        }
        return data;
    }

    [Fact]
    public void TheRepositorysFieldsAllHaveDeviceTypes()
    {
        var names = AllDeviceTypes().Select(t => t.DeclaringType!.DeclaringType!.FullName).Distinct().ToArray();
        foreach (var expected in new[] { "Spiral.SpiralField", "OdeDsl.Generators.Tests.Models.LotkaVolterra", "OdeDsl.Generators.Tests.Models.CnfField",
                     "OdeDsl.Generators.Tests.Models.AllPrimitivesField", "OdeDsl.Gpu.Tests.Fields.Lorenz" })
            Assert.Contains(expected, names);
        // conv/group-norm fields get no device code (ODE0100), so no device type
        Assert.DoesNotContain("OdeDsl.Generators.Tests.Models.ConvField", names);
    }

    [Theory]
    [MemberData(nameof(DeviceTypes))]
    public void EnsembleKernelCompilesToPtx(Type field)
    {
        var kernelClass = field.Name == "F64" ? typeof(EnsembleKernelF64) : typeof(EnsembleKernelF32);
        var kernel = kernelClass.GetMethod("Kernel", BindingFlags.Public | BindingFlags.Static)!.MakeGenericMethod(field);
        var ptx = GpuTestContext.CompileToPtx(kernel);
        Assert.Contains(".entry", ptx);
        Assert.Contains(".target sm_80", ptx);
    }

    /// <summary>The adjoint kernel: in CI for Lorenz (double and float) and the CNF field (double, the largest), every type when full.</summary>
    public static TheoryData<Type> AdjointDeviceTypes()
    {
        var data = new TheoryData<Type>();
        foreach (var t in AllDeviceTypes())
        {
            string field = t.DeclaringType!.DeclaringType!.Name;
            if (Full || field == "Lorenz" || (field == "CnfField" && t.Name == "F64")) data.Add(t);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(AdjointDeviceTypes))]
    public void AdjointKernelCompilesToPtx(Type field)
    {
        var kernelClass = field.Name == "F64" ? typeof(AdjointKernelF64) : typeof(AdjointKernelF32);
        var kernel = kernelClass.GetMethod("Kernel", BindingFlags.Public | BindingFlags.Static)!.MakeGenericMethod(field);
        var ptx = GpuTestContext.CompileToPtx(kernel);
        Assert.Contains(".entry", ptx);
        Assert.Contains(".target sm_80", ptx);
    }

    /// <summary>The four device functions (forward, VJP, JVP, divergence) of a double field, in one probe kernel.</summary>
    public static TheoryData<Type> DoubleDeviceTypes()
    {
        var data = new TheoryData<Type>();
        foreach (var t in AllDeviceTypes().Where(t => t.Name == "F64" && (Full || CiSubset.Contains(t.DeclaringType!.DeclaringType!.Name))))
            if (Full || t.DeclaringType!.DeclaringType!.Name != "AllPrimitivesField") data.Add(t);
        return data;
    }

    /// <summary>The probe kernel is written for double; float device functions share the emitter and compile in the ensemble kernel.</summary>
    [Theory]
    [MemberData(nameof(DoubleDeviceTypes))]
    public void DeviceFunctionsCompileToPtx(Type field)
    {
        var probe = typeof(DeviceFunctionTests).GetMethod(nameof(DeviceFunctionTests.Probe), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(field);
        Assert.Contains(".entry", GpuTestContext.CompileToPtx(probe));
    }

    /// <summary>The batched path's kernels (double): the tiled matrix product with shared memory and barriers (explicitly
    /// grouped), the element-wise, stage-combination and error kernels.</summary>
    [Theory]
    [InlineData(nameof(Batched.BatchedKernels.Gemm))]
    [InlineData(nameof(Batched.BatchedKernels.GemmDirect))]
    [InlineData(nameof(Batched.BatchedKernels.Elementwise))]
    [InlineData(nameof(Batched.BatchedKernels.Combine))]
    [InlineData(nameof(Batched.BatchedKernels.ErrorSquares))]
    [InlineData(nameof(Batched.BatchedKernels.InitialSquares))]
    public void BatchedKernelsCompileToPtx(string name)
    {
        var kernel = typeof(Batched.BatchedKernels).GetMethod(name, BindingFlags.Public | BindingFlags.Static)!;
        var ptx = GpuTestContext.CompileToPtx(kernel, explicitlyGrouped: name == nameof(Batched.BatchedKernels.Gemm));
        Assert.Contains(".entry", ptx);
        if (name == nameof(Batched.BatchedKernels.Gemm)) Assert.Contains(".shared", ptx);
    }

    /// <summary>EnsembleKernelF32.cs and AdjointKernelF32.cs must be what make-f32.sh writes from the double kernels.</summary>
    [Theory]
    [InlineData("Ensemble", "EnsembleKernel", "// The fused ensemble solver kernel in double", "// GENERATED by make-f32.sh from EnsembleKernelF64.cs: edit that file, then run make-f32.sh.")]
    [InlineData("Gradients", "AdjointKernel", "// The fused adjoint (backsolve) kernel in double", "// GENERATED by Ensemble/make-f32.sh from AdjointKernelF64.cs: edit that file, then run make-f32.sh.")]
    public void FloatKernelIsTheGeneratedCopyOfTheDoubleKernel(string folder, string name, string header, string generatedHeader)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "src", "OdeDsl.Gpu", "Ensemble"))) dir = dir.Parent;
        Assert.True(dir is not null, "repository root not found above " + AppContext.BaseDirectory);
        string source = Path.Combine(dir!.FullName, "src", "OdeDsl.Gpu", folder);
        var f64 = File.ReadAllLines(Path.Combine(source, name + "F64.cs"));
        var f32 = File.ReadAllLines(Path.Combine(source, name + "F32.cs"));
        var expected = f64.Select(l => l.StartsWith(header) ? generatedHeader
                : l == "using Real = double;" ? "using Real = float;" : l.Replace(name + "F64", name + "F32")).ToArray();
        Assert.Equal(expected, f32);
    }
}
