using OdeDsl.Gpu.Tests.Fields;

namespace OdeDsl.Gpu.Tests;

// the generator tests' fields (OdeDsl.Models, the library's namespace, would otherwise shadow a bare `Models.`)
using TestModels = OdeDsl.Generators.Tests.Models;

/// <summary>
/// Device backprop through fixed-step solves (one thread per trajectory, dL/dθ reduced across trajectories on the device)
/// against the CPU runtime's Ode.Gradient with Sensitivity.Backprop: dL/dy0 and dL/dθ within 1e-12 relative.
/// </summary>
public class GradientTests
{
    private static void Check<TDyn, TField>(TField field, double[] y0, double[] theta, double[] times, string method, double step)
        where TDyn : IOdeDynamics<TDyn> where TField : struct, IDeviceDynamics<double>
    {
        int S = TDyn.StateSize, n = y0.Length / S;
        var rng = new Random(11);
        var dL = Enumerable.Range(0, times.Length * n * S).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var m = (RungeKuttaMethod)Methods.ByName(method);
        var gpu = GpuGradients.Backprop(GpuTestContext.Device, field, y0, theta, times, dL, new EnsembleOptions { Method = m, FixedStep = step });
        Assert.All(gpu.Status, s => Assert.Equal(SolveStatus.Success, s));
        var cpu = Ode.Gradient<TDyn, double>(y0, times, theta, dL, Sensitivity.Backprop, new SolveOptions<double> { Method = m, FixedStep = step });
        DeviceFunctionTests.Close(cpu.InitialState, gpu.InitialState, "dL/dy0");
        DeviceFunctionTests.Close(cpu.Theta, gpu.Theta, "dL/dθ");
        var perTrajectorySum = new double[theta.Length];
        for (int i = 0; i < n; i++) for (int p = 0; p < theta.Length; p++) perTrajectorySum[p] += gpu.ThetaPerTrajectory[i * theta.Length + p];
        DeviceFunctionTests.Close(cpu.Theta, perTrajectorySum, "Σ per-trajectory dL/dθ");
    }

    [Theory]
    [InlineData("rk4")]
    [InlineData("euler")]
    public void LotkaVolterra(string method) =>
        Check<TestModels.LotkaVolterra.Dynamics, TestModels.LotkaVolterra.DynamicsDevice.F64>(default,
            [1.0, 1.2, 0.7, 1.4, 1.1, 0.9], [1.5, 1.0, 3.0, 1.0], [0, 0.5, 1.25, 2], method, 0.125);

    [Fact]
    public void SpiralMlp()
    {
        var rng = new Random(3);
        var theta = Enumerable.Range(0, Spiral.SpiralField.Dynamics.ParameterCount).Select(_ => (rng.NextDouble() - 0.5) * 0.6).ToArray();
        Check<Spiral.SpiralField.Dynamics, Spiral.SpiralField.DynamicsDevice.F64>(default, [2.0, 0.0, -1.0, 0.5, 0.3, -1.2], theta, [0, 0.25, 1], "rk4", 0.0625);
    }

    [Fact]
    public void OutputTimesOffTheStepGridAreRejected()
    {
        var ex = Assert.Throws<ArgumentException>(() => GpuGradients.Backprop(GpuTestContext.Device, default(Lorenz.DynamicsDevice.F64),
            [1.0, 0, 0], [10, 28, 8.0 / 3], [0, 0.3, 1], new double[9], new EnsembleOptions { Method = Methods.Rk4, FixedStep = 0.25 }));
        Assert.Contains("not on the step grid", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => GpuGradients.Backprop(GpuTestContext.Device, default(Lorenz.DynamicsDevice.F64),
            [1.0, 0, 0], [10, 28, 8.0 / 3], [0, 1], new double[6], new EnsembleOptions()));
        Assert.Contains("fixed-step", ex.Message);
    }
}
