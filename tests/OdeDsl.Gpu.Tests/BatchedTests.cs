using OdeDsl.Flows;
using OdeDsl.Gpu.Batched;
using Spiral;

namespace OdeDsl.Gpu.Tests;

/// <summary>
/// BatchedOde (the batched path for matrix-product fields) on ILGPU's CPU accelerator against the CPU runtime's shared-step
/// batch solve of the same field: the same result code, accepted/rejected steps and evaluations, final time, and every
/// output state within 1e-12 relative (double). Fields: the spiral demo's MLP (generated CPU code), CNF MLP fields
/// (MlpField, concatsquash and concatenated t), and a net with every activation checked against plain loops.
/// </summary>
public class BatchedTests
{
    private static void Compare(Solution<double> cpu, Solution<double> gpu, double rel = 1e-12)
    {
        Assert.Equal(cpu.Status, gpu.Status);
        Assert.True(cpu.Stats.AcceptedSteps == gpu.Stats.AcceptedSteps, $"accepted CPU {cpu.Stats.AcceptedSteps}, GPU {gpu.Stats.AcceptedSteps}");
        Assert.True(cpu.Stats.RejectedSteps == gpu.Stats.RejectedSteps, $"rejected CPU {cpu.Stats.RejectedSteps}, GPU {gpu.Stats.RejectedSteps}");
        Assert.True(cpu.Stats.FunctionEvaluations == gpu.Stats.FunctionEvaluations, $"evaluations CPU {cpu.Stats.FunctionEvaluations}, GPU {gpu.Stats.FunctionEvaluations}");
        Assert.Equal(cpu.RowStats, gpu.RowStats);
        Assert.Equal(cpu.FinalTime, gpu.FinalTime);
        Assert.Equal(cpu.OutputsReached, gpu.OutputsReached);
        Assert.Equal(cpu.States.Length, gpu.States.Length);
        CloseRowwise(cpu.States, gpu.States, cpu.StateSize, rel, "state");
        CloseRowwise(cpu.FinalStates, gpu.FinalStates, cpu.StateSize, rel, "final state");
    }

    /// <summary>Each row (one sample's state at one time) within rel of the CPU's, relative to the row's largest component
    /// (norm-wise: the products sum in another order and tanh differs by ulps, so a component that cancels to 1e-3 of its
    /// row's scale carries the row's absolute rounding); NaN where the CPU has NaN.</summary>
    private static void CloseRowwise(double[] cpu, double[] gpu, int S, double rel, string what)
    {
        for (int r = 0; r < cpu.Length / S; r++)
        {
            double scale = 1e-300;
            for (int j = 0; j < S; j++) scale = Math.Max(scale, Math.Abs(cpu[r * S + j]));
            for (int j = 0; j < S; j++)
            {
                double e = cpu[r * S + j], a = gpu[r * S + j];
                if (double.IsNaN(e)) { Assert.True(double.IsNaN(a), $"{what} row {r} [{j}]: CPU NaN (not reached), GPU {a}"); continue; }
                Assert.True(Math.Abs(e - a) <= rel * scale, $"{what} row {r} [{j}]: CPU {e:R}, GPU {a:R} (row scale {scale:G3})");
            }
        }
    }

    internal static DeviceNet SpiralNet()
    {
        var L = SpiralField.Dynamics.Layout;
        return new DeviceNet(2, L.Count).Activation(DeviceActivation.Cube)
            .Linear(2, 50, L["W1"].Offset, L["b1"].Offset).Activation(DeviceActivation.Tanh)
            .Linear(50, 2, L["W2"].Offset, L["b2"].Offset);
    }

    private static double[] Uniform(int count, double lo, double hi, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => lo + (hi - lo) * rng.NextDouble()).ToArray();
    }

    [Theory]
    [InlineData("dopri5", OutputMode.AtTimes)]
    [InlineData("tsit5", OutputMode.FinalOnly)]
    [InlineData("rk4", OutputMode.AtTimes)]
    public void SpiralMlpMatchesTheCpuSharedStepSolve(string method, OutputMode output)
    {
        int B = 37; // not a multiple of the 16-row tile
        var theta = Uniform(SpiralField.Dynamics.ParameterCount, -0.4, 0.4, 3);
        var y0 = Uniform(2 * B, -2, 2, 4);
        double[] times = [0, 0.3, 0.7, 1.5];
        var o = new SolveOptions<double>
        {
            Method = Methods.ByName(method), RelTol = 1e-7, AbsTol = 1e-9, Output = output,
            FixedStep = method == "rk4" ? 0.1 : null,
        };
        var cpu = Ode.Solve(new DynamicsRhs<SpiralField.Dynamics, double>(theta, B), y0, times, o);
        var gpu = BatchedOde.Solve(GpuTestContext.Device, SpiralNet(), y0, theta, times, o);
        Assert.True(gpu.Succeeded);
        if (method != "rk4") Assert.True(gpu.Stats.AcceptedSteps > 3);
        Compare(cpu, gpu);
    }

    /// <summary>The shared-memory tiled product (what GPUs run) on the CPU accelerator, where its group barriers are slow:
    /// a short rk4 solve, 16 products, against the CPU runtime and the direct kernel (bit for bit: same sum order).</summary>
    [Fact]
    public void TiledProductMatchesTheCpuAndTheDirectKernel()
    {
        int B = 19;
        var theta = Uniform(SpiralField.Dynamics.ParameterCount, -0.4, 0.4, 11);
        var y0 = Uniform(2 * B, -2, 2, 12);
        double[] times = [0, 0.1, 0.2];
        var o = new SolveOptions<double> { Method = Methods.Rk4, FixedStep = 0.1 };
        var tiled = BatchedOde.Solve(GpuTestContext.Device, SpiralNet(), y0, theta, times, o, BatchedOde.Gemm.Tiled);
        Compare(Ode.Solve(new DynamicsRhs<SpiralField.Dynamics, double>(theta, B), y0, times, o), tiled);
        Assert.Equal(BatchedOde.Solve(GpuTestContext.Device, SpiralNet(), y0, theta, times, o, BatchedOde.Gemm.Direct).States, tiled.States);
    }

    [Fact]
    public void CnfMlpFieldsMatchTheCpuSharedStepSolve()
    {
        // FFJORD toy's concatsquash 2 → 64 → 64 → 64 → 2, carried from T = 0.5 back to 0 (sampling's direction), PI control
        var thetaSquash = MlpField<FfjordToySpec>.Layout.Initialize<double>(seed: 5);
        int B = 50;
        var y0 = Uniform(2 * B, -3, 3, 6);
        double[] back = [0.5, 0.25, 0];
        var o = new SolveOptions<double> { RelTol = 1e-6, AbsTol = 1e-6, Controller = StepSizeController.PI };
        var cpu = Ode.Solve(new CnfStateRhs<MlpField<FfjordToySpec>, double>(thetaSquash), y0, back, o);
        var gpu = BatchedOde.Solve(GpuTestContext.Device, DeviceNet.FromMlpField<FfjordToySpec>(), y0, thetaSquash, back, o);
        Assert.True(gpu.Succeeded);
        Compare(cpu, gpu);

        // torchdiffeq cnf.py's plain MLP on [z, t] (a time column in the first layer only), tsit5
        var thetaConcat = MlpField<CnfPyMlpSpec>.Layout.Initialize<double>(seed: 8);
        double[] forward = [0, 0.4, 1];
        var o2 = new SolveOptions<double> { Method = Methods.Tsit5, RelTol = 1e-7, AbsTol = 1e-9 };
        Compare(Ode.Solve(new CnfStateRhs<MlpField<CnfPyMlpSpec>, double>(thetaConcat), y0, forward, o2),
            BatchedOde.Solve(GpuTestContext.Device, DeviceNet.FromMlpField<CnfPyMlpSpec>(), y0, thetaConcat, forward, o2));
    }

    /// <summary>examples/Cnf's <c>--device ilgpu-cpu</c> sampling (CnfDevice, linked into this project): the device's samples
    /// are the CPU's, step for step.</summary>
    [Fact]
    public void CnfExampleSamplesOnTheDeviceAsOnTheCpu()
    {
        Assert.True(GpuDevice.TryOpen("ilgpu-cpu", out var device, out var why), why);
        using (device)
        {
            var theta = MlpField<FfjordToySpec>.Layout.Initialize<float>(seed: 3);
            var check = Cnf.CnfDevice.Sample<FfjordToySpec>(device!, theta, 0.5, 64, 7);
            Assert.Equal(SolveStatus.Success, check.DeviceStatus);
            Assert.Equal(SolveStatus.Success, check.CpuStatus);
            Assert.Equal(check.CpuStats, check.DeviceStats);
            Assert.True(check.MaxDifference <= 1e-12 * check.Samples.Max(Math.Abs), check.ToString());
            Assert.Contains("64 samples on the device (Success", check.ToString());
        }
    }

    /// <summary>CnfStateRhs (the CPU reference above) at rows with different t (per-sample steps) agrees with row-by-row calls
    /// of the field.</summary>
    [Fact]
    public void CnfStateRhsEvaluatesRowsAtTheirOwnTimes()
    {
        var theta = MlpField<FfjordToySpec>.Layout.Initialize<double>(seed: 2);
        var rhs = new CnfStateRhs<MlpField<FfjordToySpec>, double>(theta);
        var y = Uniform(8, -2, 2, 3);
        double[] t = [0.1, 0.1, 0.3, 0.1];
        var dy = new double[8];
        rhs.Evaluate(t, y, dy, 4);
        var ws = new double[MlpField<FfjordToySpec>.WorkspaceLength(1, 0)];
        var one = new double[2];
        for (int b = 0; b < 4; b++)
        {
            MlpField<FfjordToySpec>.Forward(t[b], y.AsSpan(2 * b, 2), theta, default, 0, one, default, 1, ws);
            Assert.Equal(one, dy.AsSpan(2 * b, 2).ToArray());
        }
        Assert.Throws<ArgumentException>(() => new CnfStateRhs<MlpField<FfjordToySpec>, double>(new double[3]));
    }

    /// <summary>Every activation, a time column, concatsquash and widths that are not multiples of the tile, against plain loops.</summary>
    [Fact]
    public void EveryActivationMatchesPlainLoops()
    {
        // θ: L1 W [20, 4] (time column) b [20]; L2 squash W [37, 20] b g gb hb [37]; L3 W [3, 37] (no bias)
        int p = 0;
        int w1 = p; p += 20 * 4; int b1 = p; p += 20;
        int w2 = p; p += 37 * 20; int b2 = p; p += 37; int g2 = p; p += 37; int gb2 = p; p += 37; int hb2 = p; p += 37;
        int w3 = p; p += 3 * 37;
        var net = new DeviceNet(3, p).Activation(DeviceActivation.Elu)
            .Linear(3, 20, w1, b1, timeColumn: true).Activation(DeviceActivation.Softplus)
            .ConcatSquashLinear(20, 37, w2, b2, g2, gb2, hb2).Activation(DeviceActivation.Sigmoid).Activation(DeviceActivation.Relu)
            .Activation(DeviceActivation.Tanh).Activation(DeviceActivation.Cube)
            .Linear(37, 3, w3);
        var theta = Uniform(p, -0.5, 0.5, 9);
        int B = 21;
        var y0 = Uniform(3 * B, -1, 1, 10);
        double[] times = [0, 0.5, 1];
        var o = new SolveOptions<double> { RelTol = 1e-9, AbsTol = 1e-9 };
        var cpu = Ode.Solve(new ReferenceNet(net, theta), y0, times, o);
        var gpu = BatchedOde.Solve(GpuTestContext.Device, net, y0, theta, times, o);
        Assert.True(gpu.Succeeded);
        Compare(cpu, gpu);
    }

    /// <summary>dy/dt = y³ blows up at t = 1/(2 y0²): the batch ends in each failure code as the CPU's shared mode does.</summary>
    [Theory]
    [InlineData("euler", SolveStatus.NonFiniteState)]
    [InlineData("dopri5", SolveStatus.StepSizeUnderflow)]
    [InlineData("max-steps", SolveStatus.MaxStepsReached)]
    public void FailureCodesMatch(string method, SolveStatus expected)
    {
        var net = new DeviceNet(2, 6).Activation(DeviceActivation.Cube).Linear(2, 2, 0, 4);
        double[] theta = [1, 0, 0, 1, 0, 0]; // W = I, b = 0
        double[] y0 = [1, 0.5, 0.8, -1];
        double[] times = [0, 0.2, 1];
        var o = method switch
        {
            "euler" => new SolveOptions<double> { Method = Methods.Euler, FixedStep = 0.1 },
            "max-steps" => new SolveOptions<double> { MaxSteps = 7 },
            _ => new SolveOptions<double> { MinStep = 1e-4 },
        };
        // every component blows up at the same step: the CPU's fixed-step path stops only the rows that turned non-finite
        // (and carries on with the others), the batched path stops the whole batch (docs/gpu.md)
        if (method == "euler") y0 = [10, 10, -10, 10];
        var cpu = Ode.Solve(new ReferenceNet(net, theta), y0, times, o);
        var gpu = BatchedOde.Solve(GpuTestContext.Device, net, y0, theta, times, o);
        Assert.Equal(expected, gpu.Status[0]);
        Compare(cpu, gpu);
    }

    [Fact]
    public void BadInputIsRejectedWithAMessage()
    {
        var net = SpiralNet();
        var theta = new double[SpiralField.Dynamics.ParameterCount];
        double[] y0 = [1, 0], times = [0, 1];
        var perSample = Assert.Throws<ArgumentException>(() => BatchedOde.Solve(GpuTestContext.Device, net, y0, theta, times,
            new SolveOptions<double> { StepMode = BatchStepMode.PerSample }));
        Assert.Contains("GpuOde.Solve", perSample.Message);
        Assert.Contains("multiplies the whole batch", Assert.Throws<ArgumentException>(() => BatchedOde.Solve(GpuTestContext.Device, net, y0, new double[3], times)).Message);
        Assert.Contains("StateSize", Assert.Throws<ArgumentException>(() => BatchedOde.Solve(GpuTestContext.Device, net, [1, 0, 2], theta, times)).Message);
        Assert.Contains("width 2", Assert.Throws<ArgumentException>(() => new DeviceNet(2, 10).Linear(3, 2, 0)).Message);
        Assert.Contains("outside θ", Assert.Throws<ArgumentOutOfRangeException>(() => new DeviceNet(2, 10).Linear(2, 5, 0, 8)).Message);
        Assert.Contains("state has 2", Assert.Throws<InvalidOperationException>(() =>
            BatchedOde.Solve(GpuTestContext.Device, new DeviceNet(2, 10).Linear(2, 5, 0), y0, new double[10], times)).Message);
    }

    /// <summary>A DeviceNet evaluated with plain loops on the host: the CPU runtime's reference for nets without a generated field.</summary>
    private sealed class ReferenceNet(DeviceNet net, double[] theta) : IOdeRhs<double>
    {
        public int StateSize => net.StateSize;

        public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch)
        {
            for (int b = 0; b < batch; b++)
            {
                var x = y.Slice(b * StateSize, StateSize).ToArray();
                foreach (var op in net.Ops)
                {
                    if (op.Layer is { } l)
                    {
                        var a = new double[l.Out];
                        for (int j = 0; j < l.Out; j++)
                        {
                            double acc = 0;
                            for (int k = 0; k < l.In; k++) acc += x[k] * theta[l.Weight + j * l.WeightStride + k];
                            double c = l.Bias >= 0 ? theta[l.Bias + j] : 0;
                            if (l.TimeColumn != 0) c += t[b] * theta[l.Weight + j * l.WeightStride + l.In];
                            if (l.Squash != 0)
                            {
                                double s = 1 / (1 + Math.Exp(-(theta[l.Gate + j] * t[b] + theta[l.GateBias + j])));
                                acc *= s;
                                c = c * s + theta[l.HyperBias + j] * t[b];
                            }
                            a[j] = Act(op.Activation, acc + c);
                        }
                        x = a;
                    }
                    else x = x.Select(v => Act(op.Activation, v)).ToArray();
                }
                x.CopyTo(dy.Slice(b * StateSize, StateSize));
            }
        }

        private static double Act(DeviceActivation a, double x) => a switch
        {
            DeviceActivation.Tanh => Math.Tanh(x),
            DeviceActivation.Sigmoid => 1 / (1 + Math.Exp(-x)),
            DeviceActivation.Softplus => Math.Log(1 + Math.Exp(x)),
            DeviceActivation.Elu => x > 0 ? x : Math.Exp(x) - 1,
            DeviceActivation.Relu => Math.Max(x, 0),
            DeviceActivation.Cube => x * x * x,
            _ => x,
        };
    }
}
