using System.Numerics;
using OdeDsl.Tests.Training;

namespace OdeDsl.Tests.Sensitivity;

/// <summary>
/// The adjoint asks for f and the VJP together (<see cref="IOdeDynamics{TSelf}.EvaluateAndVectorJacobianProduct{T}"/>):
/// a system that implements the fused member is called through it, once per backward evaluation, and its gradient equals
/// the one of the same system through the default (Evaluate, then VectorJacobianProduct). The generator emits the fused
/// member for every [OdeDynamics] system; through the adjoint it gives the default's gradient bit for bit.
/// </summary>
[Collection(nameof(BitExactCollection))]   // bit-for-bit: no other class may retune the kernels meanwhile
public class FusedEvaluationTests
{
    [Fact]
    public void AdjointCallsTheFusedMemberOncePerBackwardEvaluation()
    {
        var problem = GradientAgreementTests.Problem.Create(GradientAgreementTests.SystemKind.LotkaVolterra, allTimes: true, reverse: false);
        var options = new SolveOptions<double> { RelTol = 1e-9, AbsTol = 1e-9 };
        var plain = Ode.Gradient<LotkaVolterra, double>(problem.Y0, problem.Times, problem.Theta, problem.Weights, OdeDsl.Sensitivity.Adjoint(), options);
        FusedLotkaVolterra.FusedCalls = 0;
        var fused = Ode.Gradient<FusedLotkaVolterra, double>(problem.Y0, problem.Times, problem.Theta, problem.Weights, OdeDsl.Sensitivity.Adjoint(), options);

        Assert.Equal(plain.Backward.FunctionEvaluations, fused.Backward.FunctionEvaluations);
        Assert.Equal(fused.Backward.FunctionEvaluations, FusedLotkaVolterra.FusedCalls);
        Assert.True(Reference.RelativeError(fused.Theta, plain.Theta) <= 1e-14);
        Assert.True(Reference.RelativeError(fused.InitialState, plain.InitialState) <= 1e-14);
    }

    [Fact]
    public void GeneratedFusedMemberGivesTheDefaultsAdjointGradientBitForBit()
    {
        const int batch = 3;
        double[] y0 = [0.3, -0.8, 1.1, 0.4, -0.5, 0.9];
        double[] times = [0, 0.4, 1.0];
        var theta = TinyTrainingField.Dynamics.Layout.Initialize<double>(seed: 11);
        var dL = new double[times.Length * batch * 2];
        for (int i = 0; i < dL.Length; i++) dL[i] = 0.25 * (i % 5) - 0.4;
        var options = new SolveOptions<double> { RelTol = 1e-8, AbsTol = 1e-10 };
        var generated = Ode.Gradient<TinyTrainingField.Dynamics, double>(y0, times, theta, dL, OdeDsl.Sensitivity.Adjoint(), options);
        var viaDefault = Ode.Gradient<ThroughDefault<TinyTrainingField.Dynamics>, double>(y0, times, theta, dL, OdeDsl.Sensitivity.Adjoint(), options);

        Assert.Equal(viaDefault.Backward.FunctionEvaluations, generated.Backward.FunctionEvaluations);
        Assert.Equal(Bits(viaDefault.Theta), Bits(generated.Theta));
        Assert.Equal(Bits(viaDefault.InitialState), Bits(generated.InitialState));
        Assert.Equal(Bits(viaDefault.Times), Bits(generated.Times));
    }

    private static long[] Bits(double[] x) => Array.ConvertAll(x, BitConverter.DoubleToInt64Bits);

    /// <summary>A generated system with its fused member hidden: the adjoint falls back to the interface's default.</summary>
    private sealed class ThroughDefault<TD> : IOdeDynamics<ThroughDefault<TD>> where TD : IOdeDynamics<TD>
    {
        public static int StateSize => TD.StateSize;
        public static ReadOnlySpan<int> StateShape => TD.StateShape;
        public static int ParameterCount => TD.ParameterCount;
        public static ParameterLayout Layout => TD.Layout;
        public static int WorkspaceLength(int batch) => TD.WorkspaceLength(batch);

        public static void Evaluate<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh, int batch, Span<T> workspace)
            where T : unmanaged, IFloatingPointIeee754<T> => TD.Evaluate(t, h, theta, dh, batch, workspace);

        public static void VectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> cotangent,
            Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace) where T : unmanaged, IFloatingPointIeee754<T>
            => TD.VectorJacobianProduct(t, h, theta, cotangent, gradH, gradTheta, gradT, batch, workspace);

        public static void JacobianVectorProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> tangent,
            Span<T> dh, Span<T> jvp, int batch, Span<T> workspace) where T : unmanaged, IFloatingPointIeee754<T>
            => TD.JacobianVectorProduct(t, h, theta, tangent, dh, jvp, batch, workspace);

        public static void EvaluateWithDivergence<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh,
            Span<T> divergence, int batch, Span<T> workspace) where T : unmanaged, IFloatingPointIeee754<T>
            => TD.EvaluateWithDivergence(t, h, theta, dh, divergence, batch, workspace);
    }

    /// <summary>Lotka-Volterra that implements the fused member (counting its calls) instead of inheriting the default.</summary>
    private sealed class FusedLotkaVolterra : IOdeDynamics<FusedLotkaVolterra>
    {
        public static long FusedCalls;
        public static int StateSize => LotkaVolterra.StateSize;
        public static ReadOnlySpan<int> StateShape => LotkaVolterra.StateShape;
        public static int ParameterCount => LotkaVolterra.ParameterCount;
        public static ParameterLayout Layout => LotkaVolterra.Layout;
        public static int WorkspaceLength(int batch) => 0;

        public static void Evaluate<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh, int batch, Span<T> workspace)
            where T : unmanaged, IFloatingPointIeee754<T> => LotkaVolterra.Evaluate(t, h, theta, dh, batch, workspace);

        public static void VectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> cotangent,
            Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace) where T : unmanaged, IFloatingPointIeee754<T>
            => LotkaVolterra.VectorJacobianProduct(t, h, theta, cotangent, gradH, gradTheta, gradT, batch, workspace);

        public static void EvaluateAndVectorJacobianProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta,
            ReadOnlySpan<T> cotangent, Span<T> dh, Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> workspace)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            FusedCalls++;
            LotkaVolterra.Evaluate(t, h, theta, dh, batch, workspace);
            LotkaVolterra.VectorJacobianProduct(t, h, theta, cotangent, gradH, gradTheta, gradT, batch, workspace);
        }

        public static void JacobianVectorProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> tangent,
            Span<T> dh, Span<T> jvp, int batch, Span<T> workspace) where T : unmanaged, IFloatingPointIeee754<T>
            => throw new NotSupportedException("Not needed here.");

        public static void EvaluateWithDivergence<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh,
            Span<T> divergence, int batch, Span<T> workspace) where T : unmanaged, IFloatingPointIeee754<T>
            => throw new NotSupportedException("Not needed here.");
    }
}
