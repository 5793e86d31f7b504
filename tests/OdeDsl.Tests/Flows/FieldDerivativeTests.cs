using OdeDsl.Flows;
using OdeDsl.Training;

namespace OdeDsl.Tests.Flows;

/// <summary>
/// The CNF fields' derivatives against central finite differences in double precision: Jacobian-vector products
/// against differences of f, and the augmented systems' VJPs (which differentiate the trace, a second derivative)
/// against differences of the augmented right-hand side in θ, z and t.
/// </summary>
public class FieldDerivativeTests
{
    private const int Batch = 5;

    public static TheoryData<string> Fields() => new() { "hyper", "concat-input", "squash" };

    [Theory]
    [MemberData(nameof(Fields))]
    public void JacobianVectorProductsMatchDifferences(string field)
    {
        switch (field)
        {
            case "hyper": CheckJvp<HyperPlanarField<SmallHyper>>(); break;
            case "concat-input": CheckJvp<MlpField<SmallConcatInput>>(); break;
            default: CheckJvp<MlpField<SmallSquash>>(); break;
        }
    }

    [Theory]
    [MemberData(nameof(Fields))]
    public void ExactTraceVjpMatchesDifferences(string field)
    {
        switch (field)
        {
            case "hyper": CheckVjp<ExactTraceCnf<HyperPlanarField<SmallHyper>>>(HyperPlanarField<SmallHyper>.Layout, 2, false); break;
            case "concat-input": CheckVjp<ExactTraceCnf<MlpField<SmallConcatInput>>>(MlpField<SmallConcatInput>.Layout, 2, false); break;
            default: CheckVjp<ExactTraceCnf<MlpField<SmallSquash>>>(MlpField<SmallSquash>.Layout, 3, false); break;
        }
    }

    [Theory]
    [MemberData(nameof(Fields))]
    public void HutchinsonVjpMatchesDifferences(string field)
    {
        switch (field)
        {
            case "hyper": CheckVjp<HutchinsonCnf<HyperPlanarField<SmallHyper>>>(HyperPlanarField<SmallHyper>.Layout, 2, true); break;
            case "concat-input": CheckVjp<HutchinsonCnf<MlpField<SmallConcatInput>>>(MlpField<SmallConcatInput>.Layout, 2, true); break;
            default: CheckVjp<HutchinsonCnf<MlpField<SmallSquash>>>(MlpField<SmallSquash>.Layout, 3, true); break;
        }
    }

    private static double[] Random(int n, ref Rng rng, double scale = 1)
    {
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = rng.NextGaussian() * scale;
        return v;
    }

    private static void CheckJvp<TField>() where TField : ICnfField<TField>
    {
        int d = TField.Dimension, k = 2;
        var rng = new Rng(11);
        var theta = TField.Layout.Initialize<double>(seed: 3);
        var z = Random(Batch * d, ref rng);
        var v = Random(k * Batch * d, ref rng);
        double t = 0.7;
        var ws = new double[TField.WorkspaceLength(Batch, k)];
        var f = new double[Batch * d];
        var jv = new double[k * Batch * d];
        TField.Forward(t, z, theta, v, k, f, jv, Batch, ws);
        const double eps = 1e-5;
        for (int j = 0; j < k; j++)
        {
            var zp = (double[])z.Clone(); var zm = (double[])z.Clone();
            for (int i = 0; i < Batch * d; i++) { zp[i] += eps * v[j * Batch * d + i]; zm[i] -= eps * v[j * Batch * d + i]; }
            var fp = new double[Batch * d]; var fm = new double[Batch * d];
            var ws1 = new double[TField.WorkspaceLength(Batch, 0)];
            TField.Forward(t, zp, theta, [], 0, fp, [], Batch, ws1);
            TField.Forward(t, zm, theta, [], 0, fm, [], Batch, ws1);
            for (int i = 0; i < Batch * d; i++)
                Assert.Equal((fp[i] - fm[i]) / (2 * eps), jv[j * Batch * d + i], 1e-7);
        }
    }

    /// <summary>⟨a, ∂dh/∂x · δ⟩ from the VJP against a central difference of ⟨a, dh⟩ along δ, for x = θ, h and t.</summary>
    private static void CheckVjp<TDyn>(ParameterLayout layout, int d, bool hutchinson) where TDyn : IOdeDynamics<TDyn>
    {
        int S = TDyn.StateSize, P = TDyn.ParameterCount;
        var rng = new Rng(5);
        var theta = layout.Initialize<double>(seed: 9);
        var h = Random(Batch * S, ref rng);
        var a = Random(Batch * S, ref rng);
        var t = Enumerable.Repeat(0.4, Batch).ToArray();
        var ws = new double[TDyn.WorkspaceLength(Batch)];
        var gradH = new double[Batch * S];
        var gradTheta = new double[P];
        var gradT = new double[Batch];
        TDyn.VectorJacobianProduct<double>(t, h, theta, a, gradH, gradTheta, gradT, Batch, ws);

        double Dot(double[] x, double[] y) => x.Zip(y, (p, q) => p * q).Sum();
        double Loss(double[] th, double[] hh, double tt)
        {
            var dh = new double[Batch * S];
            TDyn.Evaluate<double>(Enumerable.Repeat(tt, Batch).ToArray(), hh, th, dh, Batch, new double[TDyn.WorkspaceLength(Batch)]);
            return Dot(a, dh);
        }
        const double eps = 1e-6;
        var dTheta = Random(P, ref rng);
        var tp = theta.Zip(dTheta, (x, y) => x + eps * y).ToArray();
        var tm = theta.Zip(dTheta, (x, y) => x - eps * y).ToArray();
        double fdTheta = (Loss(tp, h, 0.4) - Loss(tm, h, 0.4)) / (2 * eps);
        Assert.Equal(fdTheta, Dot(gradTheta, dTheta), 1e-6 * Math.Max(1, Math.Abs(fdTheta)));

        var dH = Random(Batch * S, ref rng);
        var hp = h.Zip(dH, (x, y) => x + eps * y).ToArray();
        var hm = h.Zip(dH, (x, y) => x - eps * y).ToArray();
        double fdH = (Loss(theta, hp, 0.4) - Loss(theta, hm, 0.4)) / (2 * eps);
        Assert.Equal(fdH, Dot(gradH, dH), 1e-6 * Math.Max(1, Math.Abs(fdH)));

        double fdT = (Loss(theta, h, 0.4 + eps) - Loss(theta, h, 0.4 - eps)) / (2 * eps);
        Assert.Equal(fdT, gradT.Sum(), 1e-6 * Math.Max(1, Math.Abs(fdT)));
        Assert.Equal(hutchinson ? 2 * d + 1 : d + 1, S);
    }
}
