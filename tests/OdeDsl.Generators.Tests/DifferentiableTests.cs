using OdeDsl.Generators.Tests.Models;
using OdeDsl.Training;

namespace OdeDsl.Generators.Tests;

/// <summary>[Differentiable] functions: generated Forward equals the eager method; VJP matches finite differences; JVP/VJP transpose.</summary>
public class DifferentiableTests
{
    private const int Batch = 4;
    private readonly Rng _rng = new(7);

    private double[] Random(int n)
    {
        var x = new double[n];
        for (int i = 0; i < n; i++) x[i] = 2 * _rng.NextDouble() - 1;
        return x;
    }

    private static double Dot(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum();

    [Fact]
    public void ClassifierForwardMatchesEagerAndVjpMatchesFiniteDifferences()
    {
        var theta = Heads.ClassifierFunction.Layout.Initialize<double>(seed: 1);
        var x = Random(Batch * 3);
        var y = new double[Batch * 2];
        var ws = new double[Heads.ClassifierFunction.WorkspaceLength(Batch)];
        Heads.ClassifierFunction.Forward<double>(x, theta, y, Batch, ws);
        var θf = theta.Select(v => (float)v).ToArray();
        for (int b = 0; b < Batch; b++)
        {
            var expected = Heads.Classifier(new Vec(x.Skip(3 * b).Take(3).Select(v => (float)v).ToArray()),
                new Mat(2, 3, θf[..6]), new Vec(θf[6..8])).ToArray();
            for (int i = 0; i < 2; i++) Assert.Equal(expected[i], y[b * 2 + i], 1e-5);
        }
        CheckVjp(Heads.ClassifierFunction.Forward<double>, Heads.ClassifierFunction.VectorJacobianProduct<double>, x, theta, 2, ws);
    }

    [Fact]
    public void ConvolutionalEnergyVjpMatchesFiniteDifferencesAndJvpTransposes()
    {
        var theta = Heads.EnergyFunction.Layout.Initialize<double>(seed: 2);
        var x = Random(Batch * 18);
        var ws = new double[Heads.EnergyFunction.WorkspaceLength(Batch)];
        Assert.Equal(1, Heads.EnergyFunction.OutputSize);
        CheckVjp(Heads.EnergyFunction.Forward<double>, Heads.EnergyFunction.VectorJacobianProduct<double>, x, theta, 1, ws);

        var v = Random(x.Length);
        var a = Random(Batch);
        var jv = new double[Batch];
        Heads.EnergyFunction.JacobianVectorProduct<double>(x, theta, v, new double[Batch], jv, Batch, ws);
        var gx = new double[x.Length];
        Heads.EnergyFunction.VectorJacobianProduct<double>(x, theta, a, gx, new double[theta.Length], Batch, ws);
        Assert.Equal(Dot(a, jv), Dot(gx, v), 1e-9);
    }

    [Fact]
    public void PooledHeadMatchesEagerAndFiniteDifferences()
    {
        var theta = Heads.PooledHeadFunction.Layout.Initialize<double>(seed: 3);
        var x = Random(Batch * 32);
        var ws = new double[Heads.PooledHeadFunction.WorkspaceLength(Batch)];
        var y = new double[Batch * 3];
        Heads.PooledHeadFunction.Forward<double>(x, theta, y, Batch, ws);
        var θf = theta.Select(v => (float)v).ToArray();
        for (int b = 0; b < Batch; b++)
        {
            var expected = Heads.PooledHead(new Tensor([2, 4, 4], x.Skip(32 * b).Take(32).Select(v => (float)v).ToArray()),
                new Mat(3, 2, θf[..6]), new Vec(θf[6..9])).ToArray();
            for (int i = 0; i < 3; i++) Assert.Equal(expected[i], y[b * 3 + i], 1e-5);
        }
        CheckVjp(Heads.PooledHeadFunction.Forward<double>, Heads.PooledHeadFunction.VectorJacobianProduct<double>, x, theta, 3, ws);

        var v = Random(x.Length);
        var a = Random(Batch * 3);
        var jv = new double[Batch * 3];
        Heads.PooledHeadFunction.JacobianVectorProduct<double>(x, theta, v, new double[Batch * 3], jv, Batch, ws);
        var gx = new double[x.Length];
        Heads.PooledHeadFunction.VectorJacobianProduct<double>(x, theta, a, gx, new double[theta.Length], Batch, ws);
        Assert.Equal(Dot(a, jv), Dot(gx, v), 1e-9);
    }

    private delegate void ForwardFn(ReadOnlySpan<double> x, ReadOnlySpan<double> theta, Span<double> y, int batch, Span<double> ws);
    private delegate void VjpFn(ReadOnlySpan<double> x, ReadOnlySpan<double> theta, ReadOnlySpan<double> a, Span<double> gx, Span<double> gTheta, int batch, Span<double> ws);

    private void CheckVjp(ForwardFn forward, VjpFn vjp, double[] x, double[] theta, int outSize, double[] ws)
    {
        var a = Random(Batch * outSize);
        var gx = new double[x.Length];
        var gTheta = new double[theta.Length];
        vjp(x, theta, a, gx, gTheta, Batch, ws);
        double F(double[] xx, double[] th)
        {
            var y = new double[Batch * outSize];
            forward(xx, th, y, Batch, ws);
            return Dot(a, y);
        }
        const double eps = 1e-6;
        var vx = Random(x.Length);
        var vt = Random(theta.Length);
        double fdX = (F(x.Zip(vx, (p, q) => p + eps * q).ToArray(), theta) - F(x.Zip(vx, (p, q) => p - eps * q).ToArray(), theta)) / (2 * eps);
        double fdT = (F(x, theta.Zip(vt, (p, q) => p + eps * q).ToArray()) - F(x, theta.Zip(vt, (p, q) => p - eps * q).ToArray())) / (2 * eps);
        Assert.True(Math.Abs(fdX - Dot(gx, vx)) <= 1e-6 * (1 + Math.Abs(fdX)), $"∂/∂x: FD {fdX}, VJP {Dot(gx, vx)}");
        Assert.True(Math.Abs(fdT - Dot(gTheta, vt)) <= 1e-6 * (1 + Math.Abs(fdT)), $"∂/∂θ: FD {fdT}, VJP {Dot(gTheta, vt)}");
    }
}
