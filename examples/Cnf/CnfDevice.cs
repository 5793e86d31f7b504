using System.Diagnostics;
using OdeDsl;
using OdeDsl.Flows;
using OdeDsl.Gpu;
using OdeDsl.Gpu.Batched;
using OdeDsl.Training;

namespace Cnf;

/// <summary>
/// <c>--device cuda|ilgpu-cpu</c> in toy mode: after training, the flow's sampling runs on the device through the batched
/// GPU path (OdeDsl.Gpu's BatchedOde with the MLP field's <see cref="DeviceNet"/>): base samples z ~ N(0, I) carried from
/// the base time T back to the data time 0 with one shared step sequence, in double, next to the CPU runtime's
/// shared-step solve of the same field (<see cref="CnfStateRhs{TField, T}"/>). Training stays on the CPU (the device has no
/// gradients for this field). The log-density needs the field's divergence, which the batched path does not compute.
/// </summary>
public static class CnfDevice
{
    /// <summary>Carries <paramref name="n"/> base samples through the trained field on the device and on the CPU.</summary>
    public static SampleCheck Sample<TSpec>(GpuDevice device, float[] theta, double baseTime, int n, ulong seed) where TSpec : IMlpFieldSpec
    {
        var th = Array.ConvertAll(theta, v => (double)v);
        var rng = new Rng(seed);
        var z = new double[n * TSpec.Dimension];
        for (int i = 0; i < z.Length; i++) z[i] = rng.NextGaussian();
        double[] times = [baseTime, 0];
        var o = new SolveOptions<double> { RelTol = 1e-5, AbsTol = 1e-5, Output = OutputMode.FinalOnly }; // the toy flow's tolerances
        var net = DeviceNet.FromMlpField<TSpec>();
        BatchedOde.Solve(device.Accelerator, net, z[..TSpec.Dimension], th, times, o); // compile the kernels
        var clock = Stopwatch.StartNew();
        var gpu = BatchedOde.Solve(device.Accelerator, net, z, th, times, o);
        double gpuSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var cpu = Ode.Solve(new CnfStateRhs<MlpField<TSpec>, double>(th), z, times, o);
        double cpuSeconds = clock.Elapsed.TotalSeconds;
        double maxDiff = 0;
        for (int i = 0; i < z.Length; i++) maxDiff = Math.Max(maxDiff, Math.Abs(gpu.FinalStates[i] - cpu.FinalStates[i]));
        return new SampleCheck(gpu.FinalStates, gpu.Status[0], cpu.Status[0], gpu.Stats, cpu.Stats, maxDiff, gpuSeconds, cpuSeconds);
    }
}

/// <summary>The device's samples and how they compare with the CPU's.</summary>
public sealed record SampleCheck(double[] Samples, SolveStatus DeviceStatus, SolveStatus CpuStatus, SolverStats DeviceStats, SolverStats CpuStats,
    double MaxDifference, double DeviceSeconds, double CpuSeconds)
{
    public override string ToString() =>
        $"{Samples.Length / 2} samples on the device ({DeviceStatus}, {DeviceStats.AcceptedSteps} steps, {DeviceSeconds:F3} s; CPU {CpuStatus}, " +
        $"{CpuStats.AcceptedSteps} steps, {CpuSeconds:F3} s): max |device − CPU| {MaxDifference:G3}";
}
