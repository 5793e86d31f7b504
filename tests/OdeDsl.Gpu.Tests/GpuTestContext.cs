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
/// With ODEDSL_GPU_TESTS_DEVICE=cuda (a GPU machine with the SDK; the bare lent one runs the bench's gpu-check instead)
/// the kernels run on the first CUDA GPU, so the same tests check the real device against the CPU runtime; without a
/// CUDA device that setting fails loudly.
/// </summary>
internal static class GpuTestContext
{
    private static readonly Lazy<(Context Context, Accelerator Device)> s_shared = new(() =>
    {
        var context = Context.Create(b => b.CPU().Cuda().EnableAlgorithms());
        if (Environment.GetEnvironmentVariable("ODEDSL_GPU_TESTS_DEVICE") != "cuda") return (context, context.CreateCPUAccelerator(0));
        var gpus = context.GetCudaDevices();
        if (gpus.Count == 0) throw new InvalidOperationException("ODEDSL_GPU_TESTS_DEVICE=cuda but ILGPU finds no CUDA device.");
        return (context, gpus[0].CreateAccelerator(context));
    });

    /// <summary>ILGPU's CPU accelerator, or the GPU under ODEDSL_GPU_TESTS_DEVICE=cuda.</summary>
    public static Accelerator Device => s_shared.Value.Device;
    public static Context Context => s_shared.Value.Context;

    private static readonly object s_ptxLock = new();

    /// <summary>The PTX assembly of an implicitly (or explicitly) grouped kernel (throws if ILGPU cannot compile it).</summary>
    public static string CompileToPtx(MethodInfo kernel, bool explicitlyGrouped = false)
    {
        lock (s_ptxLock)
        {
            using var backend = new PTXBackend(Context, new CudaCapabilityContext(CudaArchitecture.SM_80), CudaArchitecture.SM_80, CudaInstructionSet.ISA_70, null);
            var entry = explicitlyGrouped ? EntryPointDescription.FromExplicitlyGroupedKernel(kernel) : EntryPointDescription.FromImplicitlyGroupedKernel(kernel);
            var compiled = backend.Compile(entry, default);
            return ((PTXCompiledKernel)compiled).PTXAssembly;
        }
    }
}
