using System.Numerics;
using OdeDsl.Gpu;

namespace Spiral;

/// <summary>
/// <c>--device cuda|ilgpu-cpu</c>: the GPU path (OdeDsl.Gpu). Training stays on the CPU runtime (the adaptive adjoint is
/// not implemented on the device yet, see docs/gpu.md); after training the learned field is solved on the device with
/// the generated device code (SpiralField.DynamicsDevice) through the whole test trajectory, and its test loss and its
/// largest difference from the CPU prediction are printed.
/// </summary>
internal static class SpiralDevice
{
    public static void Report<T>(GpuDevice device, SpiralProblem problem, T[] theta, T[] cpuPrediction) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var th = theta.Select(double.CreateChecked).ToArray();
        double[] y0 = [problem.TrueY[0], problem.TrueY[1]];
        var solution = GpuOde.Solve(device.Accelerator, default(SpiralField.DynamicsDevice.F64), y0, th, problem.Times,
            new EnsembleOptions { RelTol = 1e-7, AbsTol = 1e-9 });
        double loss = 0, maxDiff = 0;
        for (int i = 0; i < problem.TrueY.Length; i++)
        {
            loss += Math.Abs(solution.States[i] - problem.TrueY[i]);
            maxDiff = Math.Max(maxDiff, Math.Abs(solution.States[i] - double.CreateChecked(cpuPrediction[i])));
        }
        Console.WriteLine($"Device {device.Name}: learned field solved on the device ({solution.Status[0]}, {solution.AcceptedSteps[0]} steps): " +
                          $"test loss {loss / problem.TrueY.Length:F6}, max |device − CPU prediction| {maxDiff:G3}" +
                          (typeof(T) == typeof(double) ? "" : " (the CPU ran in float32, the device in float64)"));
    }
}
