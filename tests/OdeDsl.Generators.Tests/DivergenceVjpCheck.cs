using OdeDsl.Training;

namespace OdeDsl.Generators.Tests;

/// <summary>
/// The generated divergence VJP of one model (double): f and the divergence as EvaluateWithDivergence gives them, the
/// gradients against central differences of L = Σ ā_f·f + Σ ā_div·div along random directions of θ, h and t, gradTheta
/// accumulating, and no allocation (float). Called by <see cref="DynamicsPropertyTests{TD}"/> through reflection for the
/// models that implement <see cref="IDivergenceVjpDynamics{TSelf}"/>.
/// </summary>
public static class DivergenceVjpCheck<TD> where TD : IDivergenceVjpDynamics<TD>
{
    private const int Batch = 4;

    private static double Objective(double[] t, double[] h, double[] theta, double[] af, double[] ad)
    {
        var f = new double[Batch * TD.StateSize];
        var div = new double[Batch];
        TD.EvaluateWithDivergence<double>(t, h, theta, f, div, Batch, new double[TD.WorkspaceLength(Batch)]);
        return DynamicsHarness<TD>.Dot<double>(f, af) + DynamicsHarness<TD>.Dot<double>(div, ad);
    }

    public static void Run(double inputScale)
    {
        var rng = new Rng(11);
        int n = TD.StateSize, P = TD.ParameterCount;
        var t = DynamicsHarness<TD>.Random<double>(rng, Batch);
        var h = DynamicsHarness<TD>.Random<double>(rng, Batch * n, inputScale);
        var theta = TD.Layout.Initialize<double>(seed: 5);
        var af = DynamicsHarness<TD>.Random<double>(rng, Batch * n);
        var ad = DynamicsHarness<TD>.Random<double>(rng, Batch);
        var (dh, div, gH, gT) = (new double[Batch * n], new double[Batch], new double[Batch * n], new double[Batch]);
        var gTheta = Enumerable.Repeat(1.0, P).ToArray();
        var ws = new double[TD.DivergenceWorkspaceLength(Batch)];
        Array.Fill(ws, double.NaN); // stale scratch must not leak into results
        TD.EvaluateWithDivergenceAndVectorJacobianProduct<double>(t, h, theta, af, ad, dh, div, gH, gTheta, gT, Batch, ws);
        for (int i = 0; i < P; i++) gTheta[i] -= 1.0;

        // the split pair (forward, then reverse on the workspace it left) gives the fused method's results bit for bit
        var (dhS, divS, gHS, gTS, gThetaS) = (new double[Batch * n], new double[Batch], new double[Batch * n], new double[Batch], new double[P]);
        var wsS = new double[TD.DivergenceWorkspaceLength(Batch)];
        TD.EvaluateWithDivergenceForReverse<double>(t, h, theta, dhS, divS, Batch, wsS);
        TD.DivergenceVectorJacobianProduct<double>(t, h, theta, af, ad, gHS, gThetaS, gTS, Batch, wsS);
        Assert.Equal(dh, dhS);
        Assert.Equal(div, divS);
        Assert.Equal(gH, gHS);
        Assert.Equal(gT, gTS);
        for (int i = 0; i < P; i++) Assert.Equal(gTheta[i], gThetaS[i], 1e-15 * (1 + Math.Abs(gTheta[i])));

        var (dh0, div0) = (new double[Batch * n], new double[Batch]);
        TD.EvaluateWithDivergence<double>(t, h, theta, dh0, div0, Batch, new double[TD.WorkspaceLength(Batch)]);
        for (int i = 0; i < dh.Length; i++) Assert.Equal(dh0[i], dh[i], 1e-13);
        for (int b = 0; b < Batch; b++) Assert.Equal(div0[b], div[b], 1e-12 * (1 + Math.Abs(div0[b])));

        const double eps = 1e-6;
        void Check(double[] x, double[] grad, Func<double[], double> f, string what)
        {
            var u = DynamicsHarness<TD>.Random<double>(rng, x.Length);
            double fd = (f(DynamicsHarness<TD>.Axpy(x, eps, u)) - f(DynamicsHarness<TD>.Axpy(x, -eps, u))) / (2 * eps);
            double analytic = DynamicsHarness<TD>.Dot<double>(grad, u);
            Assert.True(Math.Abs(fd - analytic) <= 1e-6 * (1 + Math.Abs(fd)), $"{what}: finite differences {fd}, generated {analytic}");
        }
        for (int k = 0; k < 2; k++)
        {
            Check(theta, gTheta, th => Objective(t, h, th, af, ad), "∂/∂θ");
            Check(h, gH, hh => Objective(t, hh, theta, af, ad), "∂/∂h");
            Check(t, gT, tt => Objective(tt, h, theta, af, ad), "∂/∂t");
        }

        // the directional pair on rows [h, v]: f and (∂f/∂h)·v, and its reverse mode, against central differences
        var hv = DynamicsHarness<TD>.Random<double>(rng, Batch * 2 * n, inputScale);
        var aj = DynamicsHarness<TD>.Random<double>(rng, Batch * n);
        double Directional(double[] tt, double[] x, double[] th)
        {
            var (f, jv) = (new double[Batch * n], new double[Batch * n]);
            TD.DirectionalForward<double>(tt, x, th, f, jv, Batch, new double[TD.DirectionalWorkspaceLength(Batch)]);
            return DynamicsHarness<TD>.Dot<double>(f, af) + DynamicsHarness<TD>.Dot<double>(jv, aj);
        }
        var wsD = new double[TD.DirectionalWorkspaceLength(Batch)];
        Array.Fill(wsD, double.NaN);
        var (fD, jvD, gHv, gTD, gThetaD) = (new double[Batch * n], new double[Batch * n], new double[Batch * 2 * n], new double[Batch], new double[P]);
        TD.DirectionalForward<double>(t, hv, theta, fD, jvD, Batch, wsD);
        TD.DirectionalVectorJacobianProduct<double>(t, hv, theta, af, aj, gHv, gThetaD, gTD, Batch, wsD);
        // its jvp is the generated JVP's
        var (h1, v1) = (new double[Batch * n], new double[Batch * n]);
        for (int b = 0; b < Batch; b++)
        {
            Array.Copy(hv, b * 2 * n, h1, b * n, n);
            Array.Copy(hv, b * 2 * n + n, v1, b * n, n);
        }
        var (f1, jv1) = (new double[Batch * n], new double[Batch * n]);
        TD.JacobianVectorProduct<double>(t, h1, theta, v1, f1, jv1, Batch, new double[TD.WorkspaceLength(Batch)]);
        for (int i = 0; i < jv1.Length; i++) Assert.Equal(jv1[i], jvD[i], 1e-12 * (1 + Math.Abs(jv1[i])));
        for (int k = 0; k < 2; k++)
        {
            Check(theta, gThetaD, th => Directional(t, hv, th), "directional ∂/∂θ");
            Check(hv, gHv, x => Directional(t, x, theta), "directional ∂/∂[h, v]");
            Check(t, gTD, tt => Directional(tt, hv, theta), "directional ∂/∂t");
        }

        var (tf, hf, thf) = (t.Select(v => (float)v).ToArray(), h.Select(v => (float)v).ToArray(), theta.Select(v => (float)v).ToArray());
        var (aff, adf, o1, o2, o3, o4, o5) = (af.Select(v => (float)v).ToArray(), ad.Select(v => (float)v).ToArray(),
            new float[Batch * n], new float[Batch], new float[Batch * n], new float[P], new float[Batch]);
        var wsf = new float[TD.DivergenceWorkspaceLength(Batch)];
        var (hvf, ajf, jvf, ghvf) = (hv.Select(v => (float)v).ToArray(), aj.Select(v => (float)v).ToArray(), new float[Batch * n], new float[Batch * 2 * n]);
        var wsDf = new float[TD.DirectionalWorkspaceLength(Batch)];
        OdeDsl.Tests.AllocationAssert.NoneWithin(() =>
        {
            for (int k = 0; k < 10; k++)
            {
                TD.EvaluateWithDivergenceAndVectorJacobianProduct<float>(tf, hf, thf, aff, adf, o1, o2, o3, o4, o5, Batch, wsf);
                TD.EvaluateWithDivergenceForReverse<float>(tf, hf, thf, o1, o2, Batch, wsf);
                TD.DivergenceVectorJacobianProduct<float>(tf, hf, thf, aff, adf, o3, o4, o5, Batch, wsf);
                TD.DirectionalForward<float>(tf, hvf, thf, o1, jvf, Batch, wsDf);
                TD.DirectionalVectorJacobianProduct<float>(tf, hvf, thf, aff, ajf, ghvf, o4, o5, Batch, wsDf);
            }
        });
    }
}

/// <summary>Which methods get the second-order members: vector states of at most 64 components, primitives with tangent rules.</summary>
public class DivergenceVjpGenerationTests
{
    private static string Generate(string signatureTail)
    {
        var result = GeneratorDriverHelper.Run(GeneratorDriverHelper.Usings +
            "public static partial class Probe { [OdeDynamics] static Vec F(" + signatureTail + " }");
        Assert.Empty(result.DriverDiagnostics);
        return result.Run.Results[0].GeneratedSources.Single().SourceText.ToString();
    }

    [Theory]
    [InlineData("[Shape(64)] Vec h) => Tanh(h);", true)]
    [InlineData("[Shape(65)] Vec h) => Tanh(h);", false)]     // above DivergenceGraph.MaxStateSize
    [InlineData("[Shape(3)] Vec h) => Relu(h) + h;", false)]  // Relu: piecewise derivative, no tangent rule
    [InlineData("[Shape(3)] Vec h) => Abs(h) * 2f;", false)]
    public void SecondOrderMembersAreGeneratedExactlyWhereSupported(string signatureTail, bool expected)
    {
        var code = Generate(signatureTail);
        Assert.Equal(expected, code.Contains("IDivergenceVjpDynamics<Dynamics>", StringComparison.Ordinal));
        Assert.Equal(expected, code.Contains("DirectionalVectorJacobianProduct<T>(", StringComparison.Ordinal));
        Assert.Contains("EvaluateWithDivergence<T>(", code); // the first-order divergence is always there
    }
}
