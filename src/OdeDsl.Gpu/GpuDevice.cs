using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace OdeDsl.Gpu;

/// <summary>
/// An ILGPU context and accelerator chosen by name: "cuda" (the first CUDA GPU) or "ilgpu-cpu" (ILGPU's CPU accelerator,
/// which runs the same kernels on the host's cores; for tests and machines without a GPU). ILGPU.Algorithms is enabled
/// (device math and reductions).
/// </summary>
public sealed class GpuDevice : IDisposable
{
    private GpuDevice(Context context, Accelerator accelerator)
    {
        Context = context;
        Accelerator = accelerator;
    }

    public Context Context { get; }
    public Accelerator Accelerator { get; }
    public string Name => $"{Accelerator.AcceleratorType}: {Accelerator.Name}";

    /// <summary>Opens the device, or returns false with a message saying why not (never throws for a missing GPU).</summary>
    public static bool TryOpen(string kind, out GpuDevice? device, out string message)
    {
        device = null;
        switch (kind)
        {
            case "ilgpu-cpu":
            {
                var context = Context.Create(b => b.CPU().EnableAlgorithms());
                device = new GpuDevice(context, context.CreateCPUAccelerator(0));
                message = device.Name;
                return true;
            }
            case "cuda":
            {
                Context? context = null;
                try
                {
                    context = Context.Create(b => b.Cuda().EnableAlgorithms());
                    var gpus = context.GetCudaDevices();
                    if (gpus.Count == 0)
                    {
                        context.Dispose();
                        message = "No CUDA device found: ILGPU sees no NVIDIA GPU (or no CUDA driver) on this machine. Use --device cpu (the CPU runtime) or --device ilgpu-cpu (the GPU kernels on ILGPU's CPU accelerator).";
                        return false;
                    }
                    device = new GpuDevice(context, gpus[0].CreateAccelerator(context));
                    message = device.Name;
                    return true;
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    context?.Dispose();
                    message = $"Could not open a CUDA device ({e.GetType().Name}: {e.Message}). Use --device cpu or --device ilgpu-cpu.";
                    return false;
                }
            }
            default:
                message = $"Unknown device '{kind}': expected cuda or ilgpu-cpu.";
                return false;
        }
    }

    public void Dispose()
    {
        Accelerator.Dispose();
        Context.Dispose();
    }
}
