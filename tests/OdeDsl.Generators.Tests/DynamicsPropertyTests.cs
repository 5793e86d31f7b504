using System.Numerics;
using System.Reflection;
using System.Runtime.InteropServices;
using OdeDsl.Training;

namespace OdeDsl.Generators.Tests;

/// <summary>
/// The differential tests every generated system must pass; one subclass per model. Evaluate is compared with the
/// eager method (float); VJPs with central finite differences (double); JVP with VJP by the transposition identity;
/// the divergence with the trace of the Jacobian assembled from JVPs; and Evaluate/VJP must not allocate.
/// </summary>
public abstract class DynamicsPropertyTests<TD> where TD : IOdeDynamics<TD>
{
    protected const int Batch = 5;
    private readonly Rng _rng = new(42);

    /// <summary>The eager reference: the user's method run as written, for one row.</summary>
    protected abstract float[] Eager(float[] h, float t, float[] theta);

    protected virtual double InputScale => 1.0;

    private (T[] t, T[] h, T[] theta) Inputs<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> =>
        (DynamicsHarness<TD>.Random<T>(_rng, Batch), DynamicsHarness<TD>.Random<T>(_rng, Batch * TD.StateSize, InputScale), TD.Layout.Initialize<T>(seed: 3));

    [Fact]
    public void LayoutMatchesParameterCount()
    {
        Assert.Equal(TD.ParameterCount, TD.Layout.Count);
        int size = 1;
        foreach (int d in TD.StateShape) size *= d;
        Assert.Equal(TD.StateSize, size);
    }

    [Fact]
    public void EvaluateMatchesEagerMethod()
    {
        var (t, h, theta) = Inputs<float>();
        var dh = DynamicsHarness<TD>.Evaluate(t, h, theta, Batch);
        int n = TD.StateSize;
        for (int b = 0; b < Batch; b++)
        {
            var expected = Eager(h.AsSpan(b * n, n).ToArray(), t[b], theta);
            for (int i = 0; i < n; i++)
                Assert.True(Math.Abs(expected[i] - dh[b * n + i]) <= 1e-4 * (1 + Math.Abs(expected[i])),
                    $"row {b}, component {i}: eager {expected[i]}, generated {dh[b * n + i]}");
        }
    }

    [Fact]
    public void VjpMatchesCentralFiniteDifferences()
    {
        var (t, h, theta) = Inputs<double>();
        int n = TD.StateSize;
        var a = DynamicsHarness<TD>.Random<double>(_rng, Batch * n);
        var gradH = new double[Batch * n];
        var gradT = new double[Batch];
        var gradTheta = new double[TD.ParameterCount];
        TD.VectorJacobianProduct<double>(t, h, theta, a, gradH, gradTheta, gradT, Batch, new double[TD.WorkspaceLength(Batch)]);

        const double eps = 1e-6;
        double Directional(double[] tt, double[] hh, double[] th) => DynamicsHarness<TD>.Dot<double>(a, DynamicsHarness<TD>.Evaluate(tt, hh, th, Batch));

        var vh = DynamicsHarness<TD>.Random<double>(_rng, h.Length);
        double fdH = (Directional(t, DynamicsHarness<TD>.Axpy(h, eps, vh), theta) - Directional(t, DynamicsHarness<TD>.Axpy(h, -eps, vh), theta)) / (2 * eps);
        AssertClose(fdH, DynamicsHarness<TD>.Dot<double>(gradH, vh), "∂/∂h");

        var vTheta = DynamicsHarness<TD>.Random<double>(_rng, theta.Length);
        double fdTheta = (Directional(t, h, DynamicsHarness<TD>.Axpy(theta, eps, vTheta)) - Directional(t, h, DynamicsHarness<TD>.Axpy(theta, -eps, vTheta))) / (2 * eps);
        AssertClose(fdTheta, DynamicsHarness<TD>.Dot<double>(gradTheta, vTheta), "∂/∂θ");

        var vt = DynamicsHarness<TD>.Random<double>(_rng, Batch);
        double fdT = (Directional(DynamicsHarness<TD>.Axpy(t, eps, vt), h, theta) - Directional(DynamicsHarness<TD>.Axpy(t, -eps, vt), h, theta)) / (2 * eps);
        AssertClose(fdT, DynamicsHarness<TD>.Dot<double>(gradT, vt), "∂/∂t");
    }

    [Fact]
    public void JvpMatchesCentralFiniteDifferences()
    {
        var (t, h, theta) = Inputs<double>();
        int n = TD.StateSize;
        var v = DynamicsHarness<TD>.Random<double>(_rng, Batch * n);
        var jv = new double[Batch * n];
        TD.JacobianVectorProduct<double>(t, h, theta, v, new double[Batch * n], jv, Batch, new double[TD.WorkspaceLength(Batch)]);
        const double eps = 1e-6;
        var plus = DynamicsHarness<TD>.Evaluate(t, DynamicsHarness<TD>.Axpy(h, eps, v), theta, Batch);
        var minus = DynamicsHarness<TD>.Evaluate(t, DynamicsHarness<TD>.Axpy(h, -eps, v), theta, Batch);
        for (int i = 0; i < jv.Length; i++) AssertClose((plus[i] - minus[i]) / (2 * eps), jv[i], $"(J v)[{i}]");
    }

    [Fact]
    public void VjpAccumulatesIntoThetaGradient()
    {
        var (t, h, theta) = Inputs<double>();
        var a = DynamicsHarness<TD>.Random<double>(_rng, Batch * TD.StateSize);
        var ws = new double[TD.WorkspaceLength(Batch)];
        var once = new double[TD.ParameterCount];
        var twice = new double[TD.ParameterCount];
        var gh = new double[Batch * TD.StateSize];
        var gt = new double[Batch];
        TD.VectorJacobianProduct<double>(t, h, theta, a, gh, once, gt, Batch, ws);
        TD.VectorJacobianProduct<double>(t, h, theta, a, gh, twice, gt, Batch, ws);
        TD.VectorJacobianProduct<double>(t, h, theta, a, gh, twice, gt, Batch, ws);
        for (int i = 0; i < once.Length; i++) Assert.Equal(2 * once[i], twice[i], 1e-9 * (1 + Math.Abs(once[i])));
    }

    [Fact]
    public void FusedEvaluationAndVjpIsBitIdenticalToEvaluateThenVjp()
    {
        // the generated member, not the interface's default (which would make this test trivially pass)
        Assert.NotNull(typeof(TD).GetMethod(nameof(IOdeDynamics<TD>.EvaluateAndVectorJacobianProduct), BindingFlags.Public | BindingFlags.Static));
        FusedMatchesSeparate<float>();
        FusedMatchesSeparate<double>();
    }

    private void FusedMatchesSeparate<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (t, h, theta) = Inputs<T>();
        int n = TD.StateSize;
        var a = DynamicsHarness<TD>.Random<T>(_rng, Batch * n);
        var gradTheta0 = DynamicsHarness<TD>.Random<T>(_rng, TD.ParameterCount, 0.5);   // gradTheta accumulates

        var ws = new T[TD.WorkspaceLength(Batch)];
        var dh = new T[Batch * n];
        var gh = new T[Batch * n];
        var gt = new T[Batch];
        var gTheta = (T[])gradTheta0.Clone();
        TD.Evaluate<T>(t, h, theta, dh, Batch, ws);
        TD.VectorJacobianProduct<T>(t, h, theta, a, gh, gTheta, gt, Batch, ws);

        var fusedWs = new T[TD.WorkspaceLength(Batch)];
        Array.Fill(fusedWs, T.NaN);   // stale contents must not leak into dh or the gradients
        var fusedDh = new T[Batch * n];
        var fusedGh = new T[Batch * n];
        var fusedGt = new T[Batch];
        var fusedGTheta = (T[])gradTheta0.Clone();
        Array.Fill(fusedDh, T.NaN);
        Array.Fill(fusedGh, T.NaN);
        Array.Fill(fusedGt, T.NaN);
        TD.EvaluateAndVectorJacobianProduct<T>(t, h, theta, a, fusedDh, fusedGh, fusedGTheta, fusedGt, Batch, fusedWs);

        AssertBitIdentical(dh, fusedDh, "dh");
        AssertBitIdentical(gh, fusedGh, "gradH");
        AssertBitIdentical(gTheta, fusedGTheta, "gradTheta");
        AssertBitIdentical(gt, fusedGt, "gradT");
    }

    private static void AssertBitIdentical<T>(T[] expected, T[] actual, string what) where T : unmanaged
    {
        Assert.Equal(expected.Length, actual.Length);
        var e = MemoryMarshal.AsBytes(expected.AsSpan()).ToArray();
        var g = MemoryMarshal.AsBytes(actual.AsSpan()).ToArray();
        Assert.True(e.AsSpan().SequenceEqual(g), $"{typeof(T).Name} {what}: fused [{string.Join(", ", actual)}], separate [{string.Join(", ", expected)}]");
    }

    [Fact]
    public void JvpAndVjpSatisfyTheTranspositionIdentity()
    {
        var (t, h, theta) = Inputs<double>();
        int n = TD.StateSize;
        var v = DynamicsHarness<TD>.Random<double>(_rng, Batch * n);
        var a = DynamicsHarness<TD>.Random<double>(_rng, Batch * n);
        var ws = new double[TD.WorkspaceLength(Batch)];
        var dh = new double[Batch * n];
        var jv = new double[Batch * n];
        TD.JacobianVectorProduct<double>(t, h, theta, v, dh, jv, Batch, ws);
        Assert.Equal(DynamicsHarness<TD>.Evaluate(t, h, theta, Batch), dh);
        var gradH = new double[Batch * n];
        TD.VectorJacobianProduct<double>(t, h, theta, a, gradH, new double[TD.ParameterCount], new double[Batch], Batch, ws);
        AssertClose(DynamicsHarness<TD>.Dot<double>(a, jv), DynamicsHarness<TD>.Dot<double>(gradH, v), "⟨a, J v⟩ vs ⟨Jᵀa, v⟩");
    }

    [Fact]
    public void DivergenceIsTheTraceOfTheJacobian()
    {
        var (t, h, theta) = Inputs<double>();
        int n = TD.StateSize;
        var ws = new double[TD.WorkspaceLength(Batch)];
        var dh = new double[Batch * n];
        var div = new double[Batch];
        TD.EvaluateWithDivergence<double>(t, h, theta, dh, div, Batch, ws);
        Assert.Equal(DynamicsHarness<TD>.Evaluate(t, h, theta, Batch), dh);
        var trace = new double[Batch];
        for (int j = 0; j < n; j++)
        {
            var e = new double[Batch * n];
            for (int b = 0; b < Batch; b++) e[b * n + j] = 1;
            var jv = new double[Batch * n];
            TD.JacobianVectorProduct<double>(t, h, theta, e, new double[Batch * n], jv, Batch, ws);
            for (int b = 0; b < Batch; b++) trace[b] += jv[b * n + j];
        }
        for (int b = 0; b < Batch; b++) AssertClose(trace[b], div[b], $"row {b}");
    }

    [Fact]
    public void EvaluateVjpAndFusedAllocateNothing()
    {
        var (t, h, theta) = Inputs<float>();
        int n = TD.StateSize;
        var ws = new float[TD.WorkspaceLength(Batch)];
        var dh = new float[Batch * n];
        var gh = new float[Batch * n];
        var gt = new float[Batch];
        var gTheta = new float[TD.ParameterCount];
        var a = DynamicsHarness<TD>.Random<float>(_rng, Batch * n);
        OdeDsl.Tests.AllocationAssert.NoneWithin(() =>
        {
            for (int k = 0; k < 10; k++)
            {
                TD.Evaluate<float>(t, h, theta, dh, Batch, ws);
                TD.VectorJacobianProduct<float>(t, h, theta, dh, gh, gTheta, gt, Batch, ws);
                TD.EvaluateAndVectorJacobianProduct<float>(t, h, theta, a, dh, gh, gTheta, gt, Batch, ws);
            }
        });
    }

    [Fact]
    public void StaleWorkspaceContentsDoNotLeakIntoResults()
    {
        var (t, h, theta) = Inputs<double>();
        int n = TD.StateSize;
        var a = DynamicsHarness<TD>.Random<double>(_rng, Batch * n);
        double[] Run(double fill)
        {
            var ws = new double[TD.WorkspaceLength(Batch)];
            Array.Fill(ws, fill);
            var dh = new double[Batch * n];
            var jv = new double[Batch * n];
            var div = new double[Batch];
            var gh = new double[Batch * n];
            var gt = new double[Batch];
            var gTheta = new double[TD.ParameterCount];
            TD.Evaluate<double>(t, h, theta, dh, Batch, ws);
            TD.JacobianVectorProduct<double>(t, h, theta, a, new double[Batch * n], jv, Batch, ws);
            Array.Fill(ws, fill);
            TD.EvaluateWithDivergence<double>(t, h, theta, new double[Batch * n], div, Batch, ws);
            Array.Fill(ws, fill);
            TD.VectorJacobianProduct<double>(t, h, theta, a, gh, gTheta, gt, Batch, ws);
            return [.. dh, .. jv, .. div, .. gh, .. gt, .. gTheta];
        }
        Assert.Equal(Run(0), Run(double.NaN));
    }

    [Fact]
    public void ShortWorkspaceIsRejectedWithAClearMessage()
    {
        var (t, h, theta) = Inputs<float>();
        var e = Assert.Throws<ArgumentException>(() =>
            TD.Evaluate<float>(t, h, theta, new float[Batch * TD.StateSize], Batch, new float[TD.WorkspaceLength(Batch) - 1]));
        Assert.Contains("workspace", e.Message);
    }

    /// <summary>Whether the model should get the divergence VJP: a vector state and only primitives with IR tangent rules.</summary>
    protected virtual bool HasDivergenceVjp => true;

    [Fact]
    public void DivergenceVjpIsGeneratedWhereSupportedAndMatchesFiniteDifferences()
    {
        bool has = typeof(TD).GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDivergenceVjpDynamics<>));
        Assert.Equal(HasDivergenceVjp, has);
        if (!has) return;
        var run = typeof(DivergenceVjpCheck<>).MakeGenericType(typeof(TD)).GetMethod("Run")!;
        try { run.Invoke(null, [InputScale]); }
        catch (TargetInvocationException e) when (e.InnerException is not null) { throw e.InnerException; }
    }

    private static void AssertClose(double expected, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-6 * (1 + Math.Abs(expected)), $"{what}: expected {expected}, got {actual}");

    protected static Vec V(float[] x, int offset, int length) => new(x.AsSpan(offset, length).ToArray());
    protected static Mat M(float[] x, int offset, int rows, int cols) => new(rows, cols, x.AsSpan(offset, rows * cols).ToArray());
}
