using Mnist;
using OdeDsl.Data;
using OdeDsl.Training;

namespace OdeDsl.Tests.Mnist;

/// <summary>The MNIST ODE-Net of examples/Mnist: its generated ODE block, the whole classifier's gradients, and training.</summary>
public sealed class OdeNetTests
{
    private const int S = 64 * 6 * 6;

    private static double[] Gaussian(int n, int seed, double scale = 1)
    {
        var rng = new Rng((ulong)seed);
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = scale * rng.NextGaussian();
        return v;
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    private static double[] Step(double[] x, double[] v, double eps) => x.Zip(v, (p, q) => p + eps * q).ToArray();

    private static double[] BlockTheta(int seed)
    {
        double[] theta = OdeBlock.Parameters.Initialize<double>(seed);
        // GroupNorm's γ and β start at 1 and 0; perturb them so that their gradients are generic.
        var noise = Gaussian(theta.Length, seed + 1, 0.05);
        for (int i = 0; i < theta.Length; i++) theta[i] += noise[i];
        return theta;
    }

    [Fact]
    public void OdeBlockVjpMatchesFiniteDifferences()
    {
        const int batch = 2;
        double[] theta = BlockTheta(3), h = Gaussian(batch * S, 1), a = Gaussian(batch * S, 2);
        double[] ts = [0.3, 0.7];
        var ws = new double[Workspace(batch)];
        var gradH = new double[h.Length];
        var gradTheta = new double[theta.Length];
        var gradT = new double[batch];
        OdeBlock.Dynamics.VectorJacobianProduct<double>(ts, h, theta, a, gradH, gradTheta, gradT, batch, ws);

        // ⟨a, f(h, t, θ)⟩ and its central differences along random directions (ReLU kinks are a measure-zero event).
        double Projected(double[] hh, double[] th, double[] tt)
        {
            var dh = new double[hh.Length];
            OdeBlock.Dynamics.Evaluate<double>(tt, hh, th, dh, batch, ws);
            return Dot(a, dh);
        }
        const double eps = 1e-6;
        double[] vh = Gaussian(h.Length, 4), vt = Gaussian(theta.Length, 5);
        double fdH = (Projected(Step(h, vh, eps), theta, ts) - Projected(Step(h, vh, -eps), theta, ts)) / (2 * eps);
        double fdTheta = (Projected(h, Step(theta, vt, eps), ts) - Projected(h, Step(theta, vt, -eps), ts)) / (2 * eps);
        double fdT = (Projected(h, theta, [ts[0] + eps, ts[1] + eps]) - Projected(h, theta, [ts[0] - eps, ts[1] - eps])) / (2 * eps);
        Assert.Equal(fdH, Dot(gradH, vh), Math.Max(1e-6, 1e-6 * Math.Abs(fdH)));
        Assert.Equal(fdTheta, Dot(gradTheta, vt), Math.Max(1e-6, 1e-6 * Math.Abs(fdTheta)));
        Assert.Equal(fdT, gradT.Sum(), Math.Max(1e-6, 1e-6 * Math.Abs(fdT)));
    }

    private static int Workspace(int batch) => OdeBlock.Dynamics.WorkspaceLength(batch);

    [Fact]
    public void OdeBlockMatchesTheEagerMethod()
    {
        float[] theta = BlockTheta(7).Select(x => (float)x).ToArray();
        float[] h = Gaussian(S, 8).Select(x => (float)x).ToArray();
        const float t = 0.4f;
        var dh = new float[S];
        OdeBlock.Dynamics.Evaluate<float>([t], h, theta, dh, 1, new float[Workspace(1)]);

        // The [OdeDynamics] method itself, run eagerly on Tensor/Vec values cut from θ by the generated layout.
        var args = new List<object> { new Tensor([64, 6, 6], h), t };
        foreach (var e in OdeBlock.Parameters.Entries)
        {
            float[] slice = theta.AsSpan(e.Offset, e.Length).ToArray();
            args.Add(e.Shape.Length == 1 ? new Vec(slice) : new Tensor(e.Shape, slice));
        }
        var method = typeof(OdeBlock).GetMethod("F", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.NonPublic)!;
        var eager = ((Tensor)method.Invoke(null, args.ToArray())!).AsSpan();
        for (int i = 0; i < S; i++) Assert.True(Math.Abs(eager[i] - dh[i]) <= 1e-4f * (1 + Math.Abs(eager[i])), $"element {i}: eager {eager[i]}, generated {dh[i]}");
    }

    private static (double[] Images, byte[] Labels) SyntheticDigits(int count, int seed)
    {
        // Class k: a bright 6×6 square whose position depends on k, plus noise; learnable from a few hundred images.
        var rng = new Rng((ulong)seed);
        var images = new double[count * 784];
        var labels = new byte[count];
        for (int i = 0; i < count; i++)
        {
            int k = rng.NextInt(4);
            labels[i] = (byte)k;
            int r0 = 4 + 12 * (k / 2), c0 = 4 + 12 * (k % 2);
            for (int p = 0; p < 784; p++)
            {
                int r = p / 28, c = p % 28;
                bool on = r >= r0 && r < r0 + 8 && c >= c0 && c < c0 + 8;
                images[i * 784 + p] = (on ? 0.9 : 0.1) + 0.03 * rng.NextGaussian(); // no clamping: no exact ties
            }
        }
        return (images, labels);
    }

    [Fact]
    public void AdjointGradientOfTheClassifierMatchesBackpropThroughTheSolver()
    {
        const int batch = 2;
        var (images, labels) = SyntheticDigits(batch, 11);
        var tight = new SolveOptions<double> { RelTol = 1e-7, AbsTol = 1e-7 };
        var odeNet = new MnistClassifier<double>(ModelKind.OdeNet, batch, tight, seed: 5);
        var rkNet = new MnistClassifier<double>(ModelKind.RkNet, batch, tight, seed: 5);
        Assert.Equal(odeNet.Theta, rkNet.Theta);
        var gAdjoint = new double[odeNet.ParameterCount];
        var gBackprop = new double[rkNet.ParameterCount];
        var ra = odeNet.Run(images, labels, gAdjoint);
        var rb = rkNet.Run(images, labels, gBackprop);
        Assert.Equal(ra.Loss, rb.Loss, 10);
        Assert.True(ra.NfeBackward > 0 && rb.NfeBackward > 0);
        // Each part of θ: downsampling (reached through dL/dh(0)), ODE block, head. The adjoint solves the continuous adjoint
        // ODE (re-integrating h backwards through ReLU kinks), backprop differentiates the discrete solve exactly: they agree
        // to a few tenths of a percent here (measured: 0.85 % on the downsampling part at 1e-7); a plumbing error would be O(1).
        int down = Downsampling.DownFunction.ParameterCount, block = OdeBlock.Dynamics.ParameterCount;
        foreach (var (from, length) in new[] { (0, down), (down, block), (down + block, odeNet.ParameterCount - down - block) })
        {
            double norm = Math.Sqrt(Dot(gBackprop.AsSpan(from, length), gBackprop.AsSpan(from, length)));
            double diff = Math.Sqrt(gAdjoint.AsSpan(from, length).ToArray().Zip(gBackprop.AsSpan(from, length).ToArray(), (x, y) => (x - y) * (x - y)).Sum());
            Assert.True(norm > 0);
            Assert.True(diff <= 3e-2 * norm, $"θ[{from}..{from + length}): |adjoint − backprop| = {diff:E2}, |backprop| = {norm:E2}");
        }
    }

    [Fact]
    public void BackpropGradientOfTheClassifierMatchesFiniteDifferences()
    {
        // RK-Net on a fixed rk4 grid: the loss is a smooth function of θ away from ReLU kinks, and backprop is its exact gradient.
        const int batch = 2;
        var (images, labels) = SyntheticDigits(batch, 13);
        var c = new MnistClassifier<double>(ModelKind.RkNet, batch, new SolveOptions<double> { Method = Methods.Rk4, FixedStep = 0.25 }, seed: 6);
        var g = new double[c.ParameterCount];
        c.Run(images, labels, g);
        var theta0 = (double[])c.Theta.Clone();
        double Loss(double[] theta)
        {
            theta.CopyTo(c.Theta, 0);
            return c.Run(images, labels, default).Loss;
        }
        int down = Downsampling.DownFunction.ParameterCount, block = OdeBlock.Dynamics.ParameterCount;
        // A random direction in each part of θ, and one in all of it. Steps that straddle ReLU kinks make the difference
        // quotient's error O(step), not O(step²) (measured on the downsampling direction: 6e-3 at 1e-6, 1e-3 at 1e-7), so the
        // steps are small and each direction passes if either of two agrees.
        foreach (var (from, length, seed) in new[] { (0, down, 31), (down, block, 32), (down + block, c.ParameterCount - down - block, 33), (0, c.ParameterCount, 34) })
        {
            var v = new double[c.ParameterCount];
            Gaussian(length, seed).CopyTo(v, from);
            double analytic = Dot(g, v);
            double best = new[] { 1e-7, 1e-8 }.Min(eps => Math.Abs((Loss(Step(theta0, v, eps)) - Loss(Step(theta0, v, -eps))) / (2 * eps) - analytic));
            Assert.True(best <= 5e-4 * Math.Abs(analytic) + 1e-7, $"θ[{from}..{from + length}): |fd − backprop| = {best:E2}, backprop {analytic:G6}");
        }
    }

    [Fact]
    public void TrainingOnSyntheticImagesLowersTheLoss()
    {
        const int count = 192, batch = 32;
        var (images, labels) = SyntheticDigits(count, 21);
        // rk4 with one step keeps the test fast; the adjoint pass is the ODE-Net's.
        var c = new MnistClassifier<float>(ModelKind.OdeNet, batch, new SolveOptions<float> { Method = Methods.Rk4, FixedStep = 1f }, seed: 1);
        var sgd = new Sgd<float>(c.ParameterCount, 0.05, momentum: 0.9, weightDecay: 5e-4);
        float[] x = images.Select(v => (float)v).ToArray();
        var g = new float[c.ParameterCount];
        double Mean() => Enumerable.Range(0, count / batch).Average(b => c.Run(x.AsSpan(b * batch * 784, batch * 784), labels.AsSpan(b * batch, batch), default).Loss);
        double before = Mean();
        for (int epoch = 0; epoch < 2; epoch++)
            for (int b = 0; b < count / batch; b++)
            {
                var r = c.Run(x.AsSpan(b * batch * 784, batch * 784), labels.AsSpan(b * batch, batch), g);
                Assert.InRange(r.NfeForward, 4, 5); // one rk4 step (plus the first-step evaluation the solver may count)
                sgd.Step(c.Theta, g);
            }
        double after = Mean();
        Assert.True(after < 0.5 * before, $"mean loss {before:F4} → {after:F4}");
    }
}
