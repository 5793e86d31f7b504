using System.Reflection;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace OdeDsl.Gpu.Tests;

/// <summary>
/// One ILGPU context (CPU accelerator plus the CUDA backend for PTX, algorithms enabled) for the whole test run, and
/// PTX compilation of a kernel without a GPU: PTXBackend for SM 8.0 / ISA 7.0, as issue 12 describes.
/// </summary>
internal static class GpuTestContext
{
    private static readonly Lazy<(Context Context, Accelerator Cpu)> s_shared = new(() =>
    {
        var context = Context.Create(b => b.CPU().Cuda().EnableAlgorithms());
        return (context, context.CreateCPUAccelerator(0));
    });

    public static Accelerator Cpu => s_shared.Value.Cpu;
    public static Context Context => s_shared.Value.Context;

    private static readonly object s_ptxLock = new();

    /// <summary>The PTX assembly of an implicitly grouped kernel (throws if ILGPU cannot compile it).</summary>
    public static string CompileToPtx(MethodInfo kernel)
    {
        lock (s_ptxLock)
        {
            using var backend = new PTXBackend(Context, new CudaCapabilityContext(CudaArchitecture.SM_80), CudaArchitecture.SM_80, CudaInstructionSet.ISA_70, null);
            var compiled = backend.Compile(EntryPointDescription.FromImplicitlyGroupedKernel(kernel), default);
            return ((PTXCompiledKernel)compiled).PTXAssembly;
        }
    }
}
