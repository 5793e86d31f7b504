using ILGPU;
using ILGPU.Runtime;
using OdeDsl.Gpu.Tests.Fields;

namespace OdeDsl.Gpu.Tests;

// the generator tests' fields (OdeDsl.Models, the library's namespace, would otherwise shadow a bare `Models.`)
using TestModels = OdeDsl.Generators.Tests.Models;

/// <summary>
/// The generated device functions (forward, VJP, JVP, divergence) run in an ILGPU kernel on the CPU accelerator and
/// agree with the generated batched CPU code at random points, in double (1e-12 relative: the CPU code's GEMM and SIMD
/// tanh round differently from the device's scalar loops) and in float.
/// </summary>
public class DeviceFunctionTests
{
    public struct ProbeArgs
    {
        public int S, P, W;
        public ArrayView<double> T, H, Theta, Cotangent, Tangent, Dh, GradH, GradTheta, Jvp, Div, Dh2, Work;
    }

    internal static void Probe<TField>(Index1D index, ProbeArgs a, TField f) where TField : struct, IDeviceDynamics<double>
    {
        int i = index, S = a.S, P = a.P;
        var h = new DeviceVector<double>(a.H, (long)i * S, 1);
        var theta = new DeviceVector<double>(a.Theta, 0, 1);
        var work = new DeviceVector<double>(a.Work, (long)i * a.W, 1);
        f.Forward(a.T[i], h, theta, new DeviceVector<double>(a.Dh, (long)i * S, 1), work);
        f.VectorJacobianProduct(a.T[i], h, theta, new DeviceVector<double>(a.Cotangent, (long)i * S, 1),
            new DeviceVector<double>(a.GradH, (long)i * S, 1), new DeviceVector<double>(a.GradTheta, (long)i * P, 1), work);
        f.JacobianVectorProduct(a.T[i], h, theta, new DeviceVector<double>(a.Tangent, (long)i * S, 1), new DeviceVector<double>(a.Jvp, (long)i * S, 1), work);
        a.Div[i] = f.ForwardWithDivergence(a.T[i], h, theta, new DeviceVector<double>(a.Dh2, (long)i * S, 1), work);
    }

    private static void Check<TDyn, TField>(TField field, int batch = 5, int seed = 1)
        where TDyn : IOdeDynamics<TDyn> where TField : struct, IDeviceDynamics<double>
    {
        int S = TDyn.StateSize, P = TDyn.ParameterCount;
        Assert.Equal(S, field.StateSize);
        Assert.Equal(P, field.ParameterCount);
        var rng = new Random(seed);
        double[] R(int n) => Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        double[] t = R(batch), h = R(batch * S), theta = R(P), cot = R(batch * S), tan = R(batch * S);

        // CPU reference: the generated batched code
        var ws = new double[TDyn.WorkspaceLength(batch)];
        var dh = new double[batch * S]; TDyn.Evaluate<double>(t, h, theta, dh, batch, ws);
        var gh = new double[batch * S]; var gthSum = new double[P]; var gt = new double[batch];
        TDyn.VectorJacobianProduct<double>(t, h, theta, cot, gh, gthSum, gt, batch, ws);
        var dh1 = new double[batch * S]; var jvp = new double[batch * S];
        TDyn.JacobianVectorProduct<double>(t, h, theta, tan, dh1, jvp, batch, ws);
        var dh2 = new double[batch * S]; var div = new double[batch];
        TDyn.EvaluateWithDivergence<double>(t, h, theta, dh2, div, batch, ws);

        var acc = GpuTestContext.Device;
        using var bt = acc.Allocate1D(t); using var bh = acc.Allocate1D(h); using var bth = acc.Allocate1D(theta.Length == 0 ? new double[1] : theta);
        using var bc = acc.Allocate1D(cot); using var btan = acc.Allocate1D(tan);
        using var bdh = acc.Allocate1D<double>(batch * S); using var bgh = acc.Allocate1D<double>(batch * S);
        using var bgth = acc.Allocate1D<double>(Math.Max(batch * P, 1)); using var bjvp = acc.Allocate1D<double>(batch * S);
        using var bdiv = acc.Allocate1D<double>(batch); using var bdh2 = acc.Allocate1D<double>(batch * S);
        using var bw = acc.Allocate1D<double>(Math.Max(batch * field.WorkLength, 1));
        var args = new ProbeArgs
        {
            S = S, P = P, W = field.WorkLength, T = bt.View, H = bh.View, Theta = bth.View, Cotangent = bc.View, Tangent = btan.View,
            Dh = bdh.View, GradH = bgh.View, GradTheta = bgth.View, Jvp = bjvp.View, Div = bdiv.View, Dh2 = bdh2.View, Work = bw.View,
        };
        var kernel = acc.LoadAutoGroupedStreamKernel<Index1D, ProbeArgs, TField>(Probe);
        kernel(batch, args, field);
        acc.Synchronize();

        Close(dh, bdh.GetAsArray1D(), "forward");
        Close(gh, bgh.GetAsArray1D(), "VJP w.r.t. h");
        var gth = bgth.GetAsArray1D();
        var gthDevice = new double[P];
        for (int b = 0; b < batch; b++) for (int p = 0; p < P; p++) gthDevice[p] += gth[b * P + p];
        Close(gthSum, gthDevice, "VJP w.r.t. θ (summed over the batch)");
        Close(jvp, bjvp.GetAsArray1D(), "JVP");
        Close(dh2, bdh2.GetAsArray1D(), "forward with divergence");
        Close(div, bdiv.GetAsArray1D(), "divergence");
    }

    internal static void Close(double[] expected, double[] actual, string what, double rel = 1e-12)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Select(Math.Abs).DefaultIfEmpty(0).Max();
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= rel * Math.Max(scale, 1e-300),
                $"{what}[{i}]: CPU {expected[i]:R}, device {actual[i]:R}");
    }

    [Fact] public void LotkaVolterra() => Check<TestModels.LotkaVolterra.Dynamics, TestModels.LotkaVolterra.DynamicsDevice.F64>(default);
    [Fact] public void SpiralMlp() => Check<Spiral.SpiralField.Dynamics, Spiral.SpiralField.DynamicsDevice.F64>(default);
    [Fact] public void CnfField() => Check<TestModels.CnfField.Dynamics, TestModels.CnfField.DynamicsDevice.F64>(default);
    [Fact] public void EveryElementwisePrimitive() => Check<TestModels.AllPrimitivesField.Dynamics, TestModels.AllPrimitivesField.DynamicsDevice.F64>(default);
}
