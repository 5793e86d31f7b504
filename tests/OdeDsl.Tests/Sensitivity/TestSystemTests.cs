using OdeDsl.Training;

namespace OdeDsl.Tests.Sensitivity;

/// <summary>The hand-written VJPs of the test systems against central finite differences of Evaluate.</summary>
public class TestSystemTests
{
    [Fact] public void LotkaVolterraVjpMatchesFiniteDifferences() => CheckVjp<LotkaVolterra>(LotkaVolterra.DefaultTheta);
    [Fact] public void MlpFieldVjpMatchesFiniteDifferences() => CheckVjp<MlpField>(MlpField.SeededTheta(3));
    [Fact] public void StiffLinearVjpMatchesFiniteDifferences() => CheckVjp<StiffLinear>(StiffLinear.DefaultTheta);
    [Fact] public void SpiralFieldVjpMatchesFiniteDifferences() => CheckVjp<SpiralField>(SpiralReferenceData.Theta.ToArray());

    private static void CheckVjp<TDyn>(double[] theta) where TDyn : IOdeDynamics<TDyn>
    {
        const int batch = 3; int s = TDyn.StateSize, p = TDyn.ParameterCount;
        var rng = new Rng(11);
        double[] t = new double[batch], h = new double[batch * s], c = new double[batch * s];
        for (int i = 0; i < batch; i++) t[i] = rng.NextDouble();
        for (int i = 0; i < h.Length; i++) { h[i] = 0.5 + rng.NextDouble(); c[i] = rng.NextGaussian(); }
        double[] gh = new double[h.Length], gth = new double[p], gt = new double[batch], ws = new double[TDyn.WorkspaceLength(batch)];
        TDyn.VectorJacobianProduct<double>(t, h, theta, c, gh, gth, gt, batch, ws);

        double L(double[] tt, double[] hh, double[] th)
        {
            var f = new double[hh.Length];
            TDyn.Evaluate<double>(tt, hh, th, f, batch, ws);
            double sum = 0; for (int i = 0; i < f.Length; i++) sum += c[i] * f[i];
            return sum;
        }
        double Fd(double[] x, int i, Func<double> loss)
        {
            const double eps = 1e-6; double x0 = x[i];
            x[i] = x0 + eps; double lp = loss(); x[i] = x0 - eps; double lm = loss(); x[i] = x0;
            return (lp - lm) / (2 * eps);
        }
        for (int i = 0; i < h.Length; i++) Assert.Equal(Fd(h, i, () => L(t, h, theta)), gh[i], 1e-7);
        for (int i = 0; i < p; i++) Assert.Equal(Fd(theta, i, () => L(t, h, theta)), gth[i], 1e-7);
        // gradT is per row: perturb one row's time, the other rows' terms do not move.
        for (int r = 0; r < batch; r++) Assert.Equal(Fd(t, r, () => L(t, h, theta)), gt[r], 1e-7);
    }
}
