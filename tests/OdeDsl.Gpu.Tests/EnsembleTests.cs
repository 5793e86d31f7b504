using OdeDsl.Gpu.Tests.Fields;

namespace OdeDsl.Gpu.Tests;

// the generator tests' fields (OdeDsl.Models, the library's namespace, would otherwise shadow a bare `Models.`)
using TestModels = OdeDsl.Generators.Tests.Models;

/// <summary>
/// GpuOde.Solve on ILGPU's CPU accelerator against the CPU runtime's per-sample mode, trajectory by trajectory (each
/// CPU reference is a batch-1 solve with that trajectory's θ): the same result code, accepted and rejected steps and
/// evaluations, and states within 1e-12 relative in double (LV, Lorenz, spiral MLP, CNF field) and float (Lorenz).
/// </summary>
public class EnsembleTests
{
    private static readonly double[] LvTimes = [0, 0.5, 1.3, 2, 3.7, 5];

    private static void Compare<TDyn>(EnsembleSolution<double> gpu, double[] y0, double[] theta, bool perTrajectory, double[] times,
        SolveOptions<double> cpuOptions, double rel = 1e-12) where TDyn : IOdeDynamics<TDyn>
    {
        int S = TDyn.StateSize, P = TDyn.ParameterCount, n = y0.Length / S;
        for (int i = 0; i < n; i++)
        {
            var th = perTrajectory ? theta.AsSpan(i * P, P).ToArray() : theta;
            var cpu = Ode.Solve(new DynamicsRhs<TDyn, double>(th, 1), y0.AsSpan(i * S, S), times, cpuOptions);
            string who = $"trajectory {i}";
            Assert.True(cpu.Status[0] == gpu.Status[i], $"{who}: CPU {cpu.Status[0]}, GPU {gpu.Status[i]}");
            Assert.True(cpu.RowStats![0].AcceptedSteps == gpu.AcceptedSteps[i], $"{who}: accepted CPU {cpu.RowStats[0].AcceptedSteps}, GPU {gpu.AcceptedSteps[i]}");
            Assert.True(cpu.RowStats[0].RejectedSteps == gpu.RejectedSteps[i], $"{who}: rejected CPU {cpu.RowStats[0].RejectedSteps}, GPU {gpu.RejectedSteps[i]}");
            Assert.True(cpu.RowStats[0].FunctionEvaluations == gpu.Evaluations[i], $"{who}: evaluations CPU {cpu.RowStats[0].FunctionEvaluations}, GPU {gpu.Evaluations[i]}");
            for (int ti = 0; ti < times.Length; ti++)
                for (int j = 0; j < S; j++)
                {
                    double e = cpu.States[ti * S + j], a = gpu.At(ti, i)[j];
                    if (double.IsNaN(e)) { Assert.True(double.IsNaN(a), $"{who} t[{ti}]: CPU NaN (not reached), GPU {a}"); continue; }
                    Assert.True(Math.Abs(e - a) <= rel * Math.Max(Math.Abs(e), 1e-300), $"{who} t[{ti}] [{j}]: CPU {e:R}, GPU {a:R}");
                }
            Assert.Equal(cpu.FinalTime![0], gpu.FinalTime[i]);
        }
    }

    private static (double[] Y0, double[] Theta) LvProblem(int n)
    {
        var rng = new Random(7);
        var y0 = new double[n * 2]; var theta = new double[n * 4];
        for (int i = 0; i < n; i++)
        {
            y0[2 * i] = 0.5 + rng.NextDouble(); y0[2 * i + 1] = 0.5 + rng.NextDouble();
            theta[4 * i] = 1.5 * (0.8 + 0.4 * rng.NextDouble()); theta[4 * i + 1] = 1; theta[4 * i + 2] = 3 * (0.8 + 0.4 * rng.NextDouble()); theta[4 * i + 3] = 1;
        }
        return (y0, theta);
    }

    [Theory]
    [InlineData("dopri5", GpuController.I)]
    [InlineData("tsit5", GpuController.I)]
    [InlineData("tsit5", GpuController.PI)]
    public void LotkaVolterraPerTrajectoryParameters(string method, GpuController controller)
    {
        var (y0, theta) = LvProblem(6);
        var m = (RungeKuttaMethod)Methods.ByName(method);
        var gpu = GpuOde.Solve(GpuTestContext.Device, default(TestModels.LotkaVolterra.DynamicsDevice.F64), y0, theta, LvTimes,
            new EnsembleOptions { Method = m, RelTol = 1e-8, AbsTol = 1e-10, Controller = controller });
        Assert.True(gpu.AllSucceeded);
        Compare<TestModels.LotkaVolterra.Dynamics>(gpu, y0, theta, true, LvTimes, new SolveOptions<double>
        {
            Method = m, RelTol = 1e-8, AbsTol = 1e-10, StepMode = BatchStepMode.PerSample,
            Controller = controller == GpuController.PI ? StepSizeController.PI : StepSizeController.I,
        });
    }

    [Fact]
    public void LorenzAsDiffEqGpuBenchmarksIt()
    {
        // DiffEqGPU's ensemble benchmark: Lorenz, tsit5, t ∈ [0, 1], varying ρ; rtol 1e-8 as in issue 12
        int n = 8;
        var y0 = Enumerable.Range(0, n).SelectMany(_ => new[] { 1.0, 0.0, 0.0 }).ToArray();
        var theta = Enumerable.Range(0, n).SelectMany(i => new[] { 10.0, 28.0 * i / (n - 1) + 0.5, 8.0 / 3 }).ToArray();
        double[] times = [0, 0.25, 0.5, 1];
        var o = new EnsembleOptions { Method = Methods.Tsit5, RelTol = 1e-8, AbsTol = 1e-8 };
        var gpu = GpuOde.Solve(GpuTestContext.Device, default(Lorenz.DynamicsDevice.F64), y0, theta, times, o);
        Assert.True(gpu.AllSucceeded);
        Compare<Lorenz.Dynamics>(gpu, y0, theta, true, times,
            new SolveOptions<double> { Method = Methods.Tsit5, RelTol = 1e-8, AbsTol = 1e-8, StepMode = BatchStepMode.PerSample });
    }

    [Fact]
    public void LorenzInFloatMatchesTheCpuInFloat()
    {
        int n = 4;
        var y0 = Enumerable.Range(0, n).SelectMany(i => new[] { 1f + i, 0f, 0f }).ToArray();
        float[] theta = [10f, 28f, 8f / 3], times = [0f, 0.5f, 1f];
        var gpu = GpuOde.Solve(GpuTestContext.Device, default(Lorenz.DynamicsDevice.F32), y0, theta, times,
            new EnsembleOptions { Method = Methods.Tsit5, RelTol = 1e-5, AbsTol = 1e-6 });
        for (int i = 0; i < n; i++)
        {
            var cpu = Ode.Solve(new DynamicsRhs<Lorenz.Dynamics, float>(theta, 1), y0.AsSpan(i * 3, 3), times,
                new SolveOptions<float> { Method = Methods.Tsit5, RelTol = 1e-5f, AbsTol = 1e-6f, StepMode = BatchStepMode.PerSample });
            Assert.Equal(cpu.Status[0], gpu.Status[i]);
            Assert.Equal(cpu.RowStats![0].AcceptedSteps, gpu.AcceptedSteps[i]);
            Assert.Equal(cpu.RowStats[0].RejectedSteps, gpu.RejectedSteps[i]);
            // stated float32 bound: 1e-5 relative to the state's scale (both sides run the same float operations in the same order)
            for (int k = 0; k < times.Length * 3; k++)
            {
                float e = cpu.States[k], a = gpu.At(k / 3, i)[k % 3];
                Assert.True(Math.Abs(e - a) <= 1e-5 * Math.Max(Math.Abs(e), 1), $"trajectory {i} [{k}]: CPU {e:R}, GPU {a:R}");
            }
        }
    }

    private static double[] RandomTheta(int count, double scale, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (rng.NextDouble() * 2 - 1) * scale).ToArray();
    }

    [Fact]
    public void SpiralMlpSharedParameters()
    {
        int n = 6;
        var theta = RandomTheta(Spiral.SpiralField.Dynamics.ParameterCount, 0.3, 3);
        var y0 = RandomTheta(n * 2, 1.5, 4);
        double[] times = [0, 0.3, 0.9, 1.5];
        var gpu = GpuOde.Solve(GpuTestContext.Device, default(Spiral.SpiralField.DynamicsDevice.F64), y0, theta, times, new EnsembleOptions());
        Assert.True(gpu.AllSucceeded);
        Compare<Spiral.SpiralField.Dynamics>(gpu, y0, theta, false, times, new SolveOptions<double> { StepMode = BatchStepMode.PerSample });
    }

    [Fact]
    public void CnfFieldSharedParameters()
    {
        int n = 4;
        var theta = RandomTheta(TestModels.CnfField.Dynamics.ParameterCount, 0.2, 5);
        var y0 = RandomTheta(n * 2, 2, 6);
        double[] times = [0, 0.5, 1];
        var o = new EnsembleOptions { Method = Methods.Dopri5, RelTol = 1e-6, AbsTol = 1e-8 };
        var gpu = GpuOde.Solve(GpuTestContext.Device, default(TestModels.CnfField.DynamicsDevice.F64), y0, theta, times, o);
        Assert.True(gpu.AllSucceeded);
        Compare<TestModels.CnfField.Dynamics>(gpu, y0, theta, false, times,
            new SolveOptions<double> { RelTol = 1e-6, AbsTol = 1e-8, StepMode = BatchStepMode.PerSample });
    }

    [Theory]
    [InlineData("rk4")]
    [InlineData("euler")]
    [InlineData("rk4_38")]
    public void FixedStepMethods(string method)
    {
        var (y0, theta) = LvProblem(4);
        var m = (RungeKuttaMethod)Methods.ByName(method);
        var gpu = GpuOde.Solve(GpuTestContext.Device, default(TestModels.LotkaVolterra.DynamicsDevice.F64), y0, theta, LvTimes,
            new EnsembleOptions { Method = m, FixedStep = 0.05 });
        Assert.True(gpu.AllSucceeded);
        Compare<TestModels.LotkaVolterra.Dynamics>(gpu, y0, theta, true, LvTimes,
            new SolveOptions<double> { Method = m, FixedStep = 0.05, StepMode = BatchStepMode.PerSample });
    }

    [Fact]
    public void TrajectoriesEndWithEachResultCode()
    {
        // dh/dt = k h² from h0 = 1 blows up at t = 1/k. Over t ∈ [0, 2] with MinStep 0.03 and MaxSteps 25:
        //   k = 0.1: success in 4 steps;  k = 1: the step shrinks towards t = 1 until it falls below MinStep (21 attempts);
        //   k = 0.45 (blow-up just past 2.2) needs 29 attempts: max steps.  NonFiniteState: a fixed step over a blow-up (below).
        double[] y0 = [1, 1, 1], theta = [0.1, 1, 0.45], times = [0, 0.5, 2];
        var o = new EnsembleOptions { RelTol = 1e-6, AbsTol = 1e-8, MinStep = 0.03, MaxSteps = 25 };
        var cpuO = new SolveOptions<double> { RelTol = 1e-6, AbsTol = 1e-8, MinStep = 0.03, MaxSteps = 25, StepMode = BatchStepMode.PerSample };
        var gpu = GpuOde.Solve(GpuTestContext.Device, default(Riccati.DynamicsDevice.F64), y0, theta, times, o);
        Assert.Equal([SolveStatus.Success, SolveStatus.StepSizeUnderflow, SolveStatus.MaxStepsReached], gpu.Status);
        Compare<Riccati.Dynamics>(gpu, y0, theta, true, times, cpuO);

        // euler with step 1 from h0 = 1e200: h1 = 1e200 + 1e400 = ∞ (a fixed-step method does not retry)
        double[] big = [1e200, 1], k = [1, 1];
        var e = new EnsembleOptions { Method = Methods.Euler, FixedStep = 1 };
        var blown = GpuOde.Solve(GpuTestContext.Device, default(Riccati.DynamicsDevice.F64), big, k, [0.0, 0.5, 3], e);
        Assert.Equal([SolveStatus.NonFiniteState, SolveStatus.Success], blown.Status); // the second: 1 → 2 → 6 → 42
        Compare<Riccati.Dynamics>(blown, big, k, true, [0.0, 0.5, 3], new SolveOptions<double> { Method = Methods.Euler, FixedStep = 1, StepMode = BatchStepMode.PerSample });
    }

    [Fact]
    public void BadArgumentsAreClearExceptions()
    {
        var f = default(Lorenz.DynamicsDevice.F64);
        var ex = Assert.Throws<ArgumentException>(() => GpuOde.Solve(GpuTestContext.Device, f, new double[4], new double[3], [0.0, 1]));
        Assert.Contains("multiple of the field's StateSize 3", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => GpuOde.Solve(GpuTestContext.Device, f, new double[6], new double[5], [0.0, 1]));
        Assert.Contains("theta has 5 elements", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => GpuOde.Solve(GpuTestContext.Device, f, new double[3], new double[3], [0.0, 1], new EnsembleOptions { Method = Methods.Rk4 }));
        Assert.Contains("FixedStep", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => GpuOde.Solve(GpuTestContext.Device, f, new double[3], new double[3], [0.0, 1], new EnsembleOptions { Method = Methods.Dopri8 }));
        Assert.Contains("dopri8", ex.Message);
    }
}
