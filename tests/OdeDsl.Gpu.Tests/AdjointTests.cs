using OdeDsl.Gpu.Tests.Fields;

namespace OdeDsl.Gpu.Tests;

// the generator tests' fields (OdeDsl.Models, the library's namespace, would otherwise shadow a bare `Models.`)
using TestModels = OdeDsl.Generators.Tests.Models;

/// <summary>
/// The device adjoint (GpuGradients.Adjoint, one thread per trajectory) against the CPU runtime's
/// Ode.Gradient(…, Sensitivity.Adjoint(…), …) trajectory by trajectory (each CPU reference a batch-1 solve with that
/// trajectory's θ and dL/dh): dL/dh0 and dL/dθ within 1e-12 relative, the same backward accepted and rejected steps and
/// augmented evaluations; dL/dθ summed over trajectories on the device for a shared θ. Also against finite differences,
/// and trajectories whose forward or backward solve fails.
/// </summary>
public class AdjointTests
{
    private static double[] Random(int count, double scale, int seed, double offset = 0)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => offset + (rng.NextDouble() * 2 - 1) * scale).ToArray();
    }

    private static EnsembleGradients<double> Check<TDyn, TField>(TField field, double[] y0, double[] theta, double[] times, EnsembleOptions o,
        GpuAdjointOptions? gpuAdjoint = null, AdjointOptions? cpuAdjoint = null, double rel = 1e-12)
        where TDyn : IOdeDynamics<TDyn> where TField : struct, IDeviceDynamics<double>
    {
        int S = TDyn.StateSize, P = TDyn.ParameterCount, n = y0.Length / S, T = times.Length;
        bool perTrajectory = theta.Length == n * P && n > 1;
        var dL = Random(T * n * S, 1, 11);
        var gpu = GpuGradients.Adjoint(GpuTestContext.Device, field, y0, theta, times, dL, o, gpuAdjoint);
        Assert.True(gpu.AllSucceeded, $"forward {string.Join(",", gpu.Status)}; backward {string.Join(",", gpu.BackwardStatus!)}");
        var cpuOptions = new SolveOptions<double>
        {
            Method = o.Method, RelTol = o.RelTol, AbsTol = o.AbsTol, FixedStep = o.FixedStep, MinStep = o.MinStep, MaxStep = o.MaxStep,
            MaxSteps = o.MaxSteps, Controller = o.Controller == GpuController.PI ? StepSizeController.PI : StepSizeController.I,
        };
        var thetaSum = new double[P];
        for (int i = 0; i < n; i++)
        {
            var th = perTrajectory ? theta.AsSpan(i * P, P).ToArray() : theta;
            var dLi = new double[T * S];
            for (int t = 0; t < T; t++) dL.AsSpan((t * n + i) * S, S).CopyTo(dLi.AsSpan(t * S, S));
            var cpu = Ode.Gradient<TDyn, double>(y0.AsSpan(i * S, S), times, th, dLi, Sensitivity.Adjoint(cpuAdjoint), cpuOptions);
            string who = $"trajectory {i}";
            Assert.True(cpu.Backward.AcceptedSteps == gpu.BackwardAcceptedSteps![i], $"{who}: accepted CPU {cpu.Backward.AcceptedSteps}, device {gpu.BackwardAcceptedSteps[i]}");
            Assert.True(cpu.Backward.RejectedSteps == gpu.BackwardRejectedSteps![i], $"{who}: rejected CPU {cpu.Backward.RejectedSteps}, device {gpu.BackwardRejectedSteps[i]}");
            Assert.True(cpu.Backward.FunctionEvaluations == gpu.BackwardEvaluations![i], $"{who}: evaluations CPU {cpu.Backward.FunctionEvaluations}, device {gpu.BackwardEvaluations[i]}");
            DeviceFunctionTests.Close(cpu.InitialState, gpu.InitialState.AsSpan(i * S, S).ToArray(), $"{who} dL/dh0", rel);
            DeviceFunctionTests.Close(cpu.Theta, gpu.ThetaPerTrajectory.AsSpan(i * P, P).ToArray(), $"{who} dL/dθ", rel);
            for (int p = 0; p < P; p++) thetaSum[p] += cpu.Theta[p];
        }
        if (perTrajectory) Assert.Empty(gpu.Theta);
        else DeviceFunctionTests.Close(thetaSum, gpu.Theta, "Σ dL/dθ (device reduction)", rel);
        return gpu;
    }

    private static (double[] Y0, double[] Theta) LvProblem(int n)
    {
        var y0 = Random(2 * n, 0.5, 7, 1);
        var theta = Enumerable.Range(0, n).SelectMany(i => new[] { 1.5 + 0.1 * i, 1, 3 - 0.2 * i, 1 }).ToArray();
        return (y0, theta);
    }

    private static readonly double[] LvTimes = [0, 0.5, 1.3, 2, 3.7, 5];

    [Theory]
    [InlineData("dopri5", GpuController.I, false)]
    [InlineData("tsit5", GpuController.I, false)]
    [InlineData("tsit5", GpuController.PI, false)]
    [InlineData("dopri5", GpuController.I, true)]
    public void LotkaVolterraPerTrajectoryParameters(string method, GpuController controller, bool seminorm)
    {
        var (y0, theta) = LvProblem(5);
        var o = new EnsembleOptions { Method = (RungeKuttaMethod)Methods.ByName(method), RelTol = 1e-8, AbsTol = 1e-10, Controller = controller };
        var gpu = Check<TestModels.LotkaVolterra.Dynamics, TestModels.LotkaVolterra.DynamicsDevice.F64>(default, y0, theta, LvTimes, o,
            new GpuAdjointOptions { Seminorm = seminorm }, new AdjointOptions { Seminorm = seminorm });
        Assert.All(gpu.BackwardAcceptedSteps!, a => Assert.True(a > 20));
    }

    [Fact]
    public void LorenzAsDiffEqGpuBenchmarksIt()
    {
        int n = 6;
        var y0 = Enumerable.Range(0, n).SelectMany(_ => new[] { 1.0, 0.0, 0.0 }).ToArray();
        var theta = Enumerable.Range(0, n).SelectMany(i => new[] { 10.0, 28.0 * i / (n - 1) + 0.5, 8.0 / 3 }).ToArray();
        Check<Lorenz.Dynamics, Lorenz.DynamicsDevice.F64>(default, y0, theta, [0, 0.25, 0.5, 1],
            new EnsembleOptions { Method = Methods.Tsit5, RelTol = 1e-8, AbsTol = 1e-8 });
    }

    [Fact]
    public void SpiralMlpSharedParametersWithTheLayoutsChannels()
    {
        var theta = Random(Spiral.SpiralField.Dynamics.ParameterCount, 0.3, 3);
        // a different backward tolerance and method, as AdjointOptions allows
        Check<Spiral.SpiralField.Dynamics, Spiral.SpiralField.DynamicsDevice.F64>(default, Random(8, 1.5, 4), theta, [0, 0.3, 0.9, 1.5],
            new EnsembleOptions(), new GpuAdjointOptions { Layout = Spiral.SpiralField.Dynamics.Layout, RelTol = 1e-8, AbsTol = 1e-10, Method = Methods.Tsit5 },
            new AdjointOptions { RelTol = 1e-8, AbsTol = 1e-10, Method = Methods.Tsit5 });
    }

    [Fact]
    public void CnfFieldSharedParameters()
    {
        // the CNF field reads t: the device integrates no a_t, so the CPU reference keeps a_t out of the norm
        var theta = Random(TestModels.CnfField.Dynamics.ParameterCount, 0.2, 5);
        Check<TestModels.CnfField.Dynamics, TestModels.CnfField.DynamicsDevice.F64>(default, Random(6, 2, 6), theta, [0, 0.5, 1],
            new EnsembleOptions { RelTol = 1e-6, AbsTol = 1e-8 }, new GpuAdjointOptions { Layout = TestModels.CnfField.Dynamics.Layout, StateGroups = [1, 1] },
            new AdjointOptions { TimeChannelInNorm = false, StateGroups = [1, 1] });
    }

    [Fact]
    public void LorenzInFloatMatchesTheCpuInFloat()
    {
        // The float forward solves of the device and the CPU differ in the last bits (EnsembleTests: within 1e-5), and the
        // adjoint restarts h from them at every output time; so the device's backward pass is given the CPU's forward
        // states (the overload taking a forward solution) to compare the backward passes alone.
        int n = 4, T = 3;
        var y0 = Enumerable.Range(0, n).SelectMany(i => new[] { 1f + i, 0f, 0f }).ToArray();
        float[] theta = [10f, 28f, 8f / 3], times = [0f, 0.5f, 1f];
        var dL = Random(T * n * 3, 1, 17).Select(v => (float)v).ToArray();
        var cpuOptions = new SolveOptions<float> { Method = Methods.Tsit5, RelTol = 1e-5f, AbsTol = 1e-6f };
        var states = new float[T * n * 3];
        var cpu = new OdeGradients<float>[n];
        for (int i = 0; i < n; i++)
        {
            var dLi = new float[T * 3];
            for (int t = 0; t < T; t++) dL.AsSpan((t * n + i) * 3, 3).CopyTo(dLi.AsSpan(t * 3, 3));
            var forward = Ode.Forward<Lorenz.Dynamics, float>(y0.AsSpan(i * 3, 3), times, theta, Sensitivity.Adjoint(), cpuOptions);
            for (int t = 0; t < T; t++) forward.Solution.States.AsSpan(t * 3, 3).CopyTo(states.AsSpan((t * n + i) * 3, 3));
            cpu[i] = forward.Backward(dLi);
        }
        var solution = new EnsembleSolution<float>
        {
            Trajectories = n, StateSize = 3, Times = times, States = states, FinalStates = new float[n * 3], FinalTime = new float[n],
            LastStepSize = new float[n], Status = new SolveStatus[n], Evaluations = new long[n], AcceptedSteps = new long[n], RejectedSteps = new long[n],
        };
        var g = GpuGradients.Adjoint(GpuTestContext.Device, default(Lorenz.DynamicsDevice.F32), solution, theta, dL,
            new EnsembleOptions { Method = Methods.Tsit5, RelTol = 1e-5, AbsTol = 1e-6 });
        Assert.True(g.AllSucceeded);
        var sum = new double[3];
        for (int i = 0; i < n; i++)
        {
            // The adjoint norm's sums of squares: in index order on the device, with SIMD (TensorPrimitives.SumOfSquares)
            // on the CPU, so the error ratios can differ in the last bit and a decision within rounding of 1 can flip.
            // Measured here: trajectories 0–2 bit for bit the CPU's; trajectory 3 takes one more rejected step on the
            // device, with gradients 3e-6 of their scale apart. Hence the stated float32 bound: 1e-5 of the scale.
            Assert.Equal(cpu[i].Backward.AcceptedSteps, g.BackwardAcceptedSteps![i]);
            Assert.InRange(g.BackwardRejectedSteps![i] - cpu[i].Backward.RejectedSteps, -1, 1);
            DeviceFunctionTests.Close(Array.ConvertAll(cpu[i].InitialState, v => (double)v), Array.ConvertAll(g.InitialState.AsSpan(i * 3, 3).ToArray(), v => (double)v), $"trajectory {i} dL/dh0", 1e-5);
            DeviceFunctionTests.Close(Array.ConvertAll(cpu[i].Theta, v => (double)v), Array.ConvertAll(g.ThetaPerTrajectory.AsSpan(i * 3, 3).ToArray(), v => (double)v), $"trajectory {i} dL/dθ", 1e-5);
            for (int p = 0; p < 3; p++) sum[p] += cpu[i].Theta[p];
        }
        DeviceFunctionTests.Close(sum, Array.ConvertAll(g.Theta, v => (double)v), "Σ dL/dθ", 1e-5);
    }

    [Theory]
    [InlineData("rk4")]
    [InlineData("euler")]
    public void FixedStepMethods(string method)
    {
        var (y0, theta) = LvProblem(3);
        Check<TestModels.LotkaVolterra.Dynamics, TestModels.LotkaVolterra.DynamicsDevice.F64>(default, y0, theta, LvTimes,
            new EnsembleOptions { Method = (RungeKuttaMethod)Methods.ByName(method), FixedStep = 0.05 });
    }

    [Fact]
    public void AgreesWithFiniteDifferences()
    {
        // L = Σ_k w_k · h(t_k) (linear, so dL/dh(t_k) = w_k) for LV with a shared θ; central differences of the device
        // forward solve at rtol 1e-12 against the adjoint at rtol 1e-12
        double[] y0 = [1.0, 1.2, 0.7, 1.4], theta = [1.5, 1.0, 3.0, 1.0], times = [0, 0.7, 2];
        var o = new EnsembleOptions { RelTol = 1e-12, AbsTol = 1e-12 };
        var w = Random(times.Length * 4, 1, 13);
        double Loss(double[] y, double[] th)
        {
            var sol = GpuOde.Solve(GpuTestContext.Device, default(TestModels.LotkaVolterra.DynamicsDevice.F64), y, th, times, o);
            return sol.States.Select((v, k) => v * w[k]).Sum();
        }
        var g = GpuGradients.Adjoint(GpuTestContext.Device, default(TestModels.LotkaVolterra.DynamicsDevice.F64), y0, theta, times, w, o);
        const double eps = 1e-6;
        for (int k = 0; k < y0.Length; k++)
        {
            var (up, down) = ((double[])y0.Clone(), (double[])y0.Clone());
            up[k] += eps; down[k] -= eps;
            double fd = (Loss(up, theta) - Loss(down, theta)) / (2 * eps);
            Assert.True(Math.Abs(fd - g.InitialState[k]) <= 1e-6 * Math.Max(1, Math.Abs(fd)), $"dL/dy0[{k}]: FD {fd}, adjoint {g.InitialState[k]}");
        }
        for (int p = 0; p < theta.Length; p++)
        {
            var (up, down) = ((double[])theta.Clone(), (double[])theta.Clone());
            up[p] += eps; down[p] -= eps;
            double fd = (Loss(y0, up) - Loss(y0, down)) / (2 * eps);
            Assert.True(Math.Abs(fd - g.Theta[p]) <= 1e-6 * Math.Max(1, Math.Abs(fd)), $"dL/dθ[{p}]: FD {fd}, adjoint {g.Theta[p]}");
        }
    }

    [Fact]
    public void FailedTrajectoriesGetResultCodesAndNaNGradients()
    {
        // dh/dt = k h² from h0 = 1 over [0, 1.5], MinStep 0.01 and at most 25 step attempts per solve (forward, and each
        // backward interval), the backward solve at rtol 1e-11: k = 0.1 succeeds both ways (3 forward, 23 backward steps);
        // k = 0.3 succeeds forward, but backward it needs more than 25 steps (MaxStepsReached); k = 0.5 succeeds forward,
        // but backward from near the blow-up its second step falls below MinStep (StepSizeUnderflow); k = 1 blows up at
        // t = 1 and fails forward (MaxStepsReached), so it is not run backwards. The CPU throws for all three.
        double[] y0 = [1, 1, 1, 1], k = [0.1, 0.3, 0.5, 1], times = [0, 1.5];
        var o = new EnsembleOptions { RelTol = 1e-6, AbsTol = 1e-8, MinStep = 0.01, MaxSteps = 25 };
        var ad = new GpuAdjointOptions { RelTol = 1e-11, AbsTol = 1e-11 };
        var dL = new double[2 * 4];
        Array.Fill(dL, 1.0);
        var g = GpuGradients.Adjoint(GpuTestContext.Device, default(Riccati.DynamicsDevice.F64), y0, k, times, dL, o, ad);
        Assert.Equal([SolveStatus.Success, SolveStatus.Success, SolveStatus.Success, SolveStatus.MaxStepsReached], g.Status);
        Assert.Equal([SolveStatus.Success, SolveStatus.MaxStepsReached, SolveStatus.StepSizeUnderflow, SolveStatus.MaxStepsReached], g.BackwardStatus);
        Assert.False(g.AllSucceeded);
        Assert.True(double.IsFinite(g.InitialState[0]) && double.IsFinite(g.ThetaPerTrajectory[0]));
        for (int i = 1; i < 4; i++) Assert.True(double.IsNaN(g.InitialState[i]) && double.IsNaN(g.ThetaPerTrajectory[i]), $"trajectory {i}: NaN gradients");
        Assert.Equal(25, g.BackwardAcceptedSteps![1] + g.BackwardRejectedSteps![1]);
        Assert.Equal(0, g.BackwardEvaluations![3]);

        var cpuO = new SolveOptions<double> { RelTol = 1e-6, AbsTol = 1e-8, MinStep = 0.01, MaxSteps = 25 };
        var cpuA = Sensitivity.Adjoint(new AdjointOptions { RelTol = 1e-11, AbsTol = 1e-11 });
        var ok = Ode.Gradient<Riccati.Dynamics, double>([1.0], times, [0.1], [1.0, 1.0], cpuA, cpuO);
        DeviceFunctionTests.Close(ok.InitialState, [g.InitialState[0]], "dL/dh0");
        DeviceFunctionTests.Close(ok.Theta, [g.ThetaPerTrajectory[0]], "dL/dk");
        foreach (double kk in new[] { 0.3, 0.5 })
        {
            var ex = Assert.Throws<OdeSolveException>(() => Ode.Gradient<Riccati.Dynamics, double>([1.0], times, [kk], [1.0, 1.0], cpuA, cpuO));
            Assert.Contains(kk == 0.3 ? "backward adjoint solve failed (MaxStepsReached" : "backward adjoint solve failed (StepSizeUnderflow", ex.Message);
        }
        Assert.Contains("forward solve failed (MaxStepsReached",
            Assert.Throws<OdeSolveException>(() => Ode.Gradient<Riccati.Dynamics, double>([1.0], times, [1.0], [1.0, 1.0], cpuA, cpuO)).Message);
    }

    [Fact]
    public void BadArgumentsAreClearExceptions()
    {
        var f = default(Lorenz.DynamicsDevice.F64);
        double[] y0 = [1, 0, 0], theta = [10, 28, 8.0 / 3], times = [0, 1];
        var ex = Assert.Throws<ArgumentException>(() => GpuGradients.Adjoint(GpuTestContext.Device, f, y0, theta, times, new double[5]));
        Assert.Contains("dLdStates must be [time, trajectory, state] = 2×1×3", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => GpuGradients.Adjoint(GpuTestContext.Device, f, y0, theta, times, new double[6], null,
            new GpuAdjointOptions { Layout = Spiral.SpiralField.Dynamics.Layout }));
        Assert.Contains("Layout describes", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => GpuGradients.Adjoint(GpuTestContext.Device, f, y0, theta, times, new double[6], null,
            new GpuAdjointOptions { StateGroups = [1, 1] }));
        Assert.Contains("StateGroups", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => GpuGradients.Adjoint(GpuTestContext.Device, f, y0, theta, times, new double[6], null,
            new GpuAdjointOptions { Method = Methods.Rk4 }));
        Assert.Contains("FixedStep", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => GpuGradients.Adjoint(GpuTestContext.Device, f, y0, theta, times, new double[6], null,
            new GpuAdjointOptions { Method = Methods.Dopri8 }));
        Assert.Contains("dopri8", ex.Message);
    }
}
