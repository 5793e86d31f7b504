using System.Numerics;
using System.Runtime.InteropServices;
using OdeDsl.Flows;
using OdeDsl.Training;

namespace OdeDsl.Tests.Flows;

/// <summary>A two-hidden-layer field whose widths are a whole vector plus a tail (16 + 3 floats, 8·2 + 3 doubles on AVX-512).</summary>
public struct TailWidths : IMlpFieldSpec
{
    public static int Dimension => 2;
    public static int[] Hidden => [19, 21];
    public static TimeInput Time => TimeInput.ConcatInput;
}

/// <summary>Widths of 24 and 32: the first layer's rows whole vectors of doubles but not of floats, the second's of both.</summary>
public struct MixedWidths : IMlpFieldSpec
{
    public static int Dimension => 2;
    public static int[] Hidden => [24, 32];
    public static TimeInput Time => TimeInput.ConcatInput;
}

/// <summary>The tests below flip a process-wide switch: they run while no other test does.</summary>
[CollectionDefinition(nameof(FusedTraceSweepCollection), DisableParallelization = true)]
public sealed class FusedTraceSweepCollection;

/// <summary>
/// The trace shortcut with its element-wise passes fused (TanhNet.FusedTraceSweep: D₁ in the tanh's pass, D₂ with the trace's
/// dot, the two-hidden-layer reverse sweep in two passes) must give the pass-per-operation path's results bit for bit: per call (the forward, kept
/// activations, the VJP from them and recomputing), and through whole backprop and adjoint gradients at the CNF bench's size, in float and double, for widths with and without vector tails.
/// </summary>
[Collection(nameof(FusedTraceSweepCollection))]
public class FusedTraceSweepTests
{
    private static void AssertSameBits<T>(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, string what) where T : unmanaged
        => Assert.True(MemoryMarshal.AsBytes(expected).SequenceEqual(MemoryMarshal.AsBytes(actual)), $"{what}: the fused sweep differs from the unfused one.");

    private static TResult With<TResult>(bool fused, Func<TResult> run)
    {
        bool before = TanhNet.FusedTraceSweep;
        TanhNet.FusedTraceSweep = fused;
        try { return run(); }
        finally { TanhNet.FusedTraceSweep = before; }
    }

    /// <summary>One call of each VJP entry point at random rows (θ, h, cotangent), fused and unfused.</summary>
    private static void CallsAgree<TSpec, T>(int batch) where TSpec : IMlpFieldSpec where T : unmanaged, IFloatingPointIeee754<T>
    {
        var theta = MlpField<TSpec>.Layout.Initialize<T>(seed: 4);
        var rng = new Rng(9);
        int S = ExactTraceCnf<MlpField<TSpec>>.StateSize;
        T[] Gaussian(int n) => Enumerable.Range(0, n).Select(_ => T.CreateChecked(rng.NextGaussian())).ToArray();
        var h = Gaussian(batch * S);
        var cot = Gaussian(batch * S);
        var t = Enumerable.Repeat(T.CreateChecked(0.375), batch).ToArray();
        (T[] Dh, T[] Kept) Forward(bool fused) => With(fused, () =>
        {
            var ws = new T[ExactTraceCnf<MlpField<TSpec>>.WorkspaceLength(batch)];
            var dh = new T[batch * S];
            var kept = new T[batch * Keep<ExactTraceCnf<MlpField<TSpec>>>.PerRow];
            Keep<ExactTraceCnf<MlpField<TSpec>>>.Evaluate(t, h, theta, dh, kept, batch, ws);
            var plain = new T[batch * S];
            ExactTraceCnf<MlpField<TSpec>>.Evaluate<T>(t, h, theta, plain, batch, ws);
            AssertSameBits<T>(dh, plain, "dh, keeping or not");
            return (dh, kept);
        });
        var (dh0, kept0) = Forward(false);
        var (dh1, kept1) = Forward(true);
        AssertSameBits<T>(dh0, dh1, "dh = [f, −tr]");
        AssertSameBits<T>(kept0, kept1, "kept x₂ and Y");
        (T[] GradH, T[] GradTheta, T[] GradT) Vjp(bool fused, bool fromKept) => With(fused, () =>
        {
            var ws = new T[ExactTraceCnf<MlpField<TSpec>>.WorkspaceLength(batch)];
            var gradH = new T[batch * S];
            var gradTheta = new T[theta.Length];
            var gradT = new T[batch];
            if (fromKept)
            {
                var kept = new T[batch * Keep<ExactTraceCnf<MlpField<TSpec>>>.PerRow];
                var dh = new T[batch * S];
                Keep<ExactTraceCnf<MlpField<TSpec>>>.Evaluate(t, h, theta, dh, kept, batch, ws);
                Array.Fill(ws, T.CreateChecked(7));   // the VJP must not lean on what the forward left in the workspace
                Keep<ExactTraceCnf<MlpField<TSpec>>>.Vjp(t, h, theta, kept, cot, gradH, gradTheta, gradT, batch, ws);
            }
            else ExactTraceCnf<MlpField<TSpec>>.VectorJacobianProduct<T>(t, h, theta, cot, gradH, gradTheta, gradT, batch, ws);
            return (gradH, gradTheta, gradT);
        });
        foreach (bool fromKept in new[] { true, false })
        {
            var unfused = Vjp(false, fromKept);
            var fused = Vjp(true, fromKept);
            string how = fromKept ? "from kept" : "recomputing";
            AssertSameBits<T>(unfused.GradH, fused.GradH, $"∂/∂h ({how})");
            AssertSameBits<T>(unfused.GradTheta, fused.GradTheta, $"∂/∂θ ({how})");
            AssertSameBits<T>(unfused.GradT, fused.GradT, $"∂/∂t ({how})");
        }
    }

    /// <summary>The explicit IOdeDynamics members that keep activations, for a test.</summary>
    private static class Keep<TD> where TD : IOdeDynamics<TD>
    {
        public static int PerRow => TD.KeptPerRow;
        public static void Evaluate<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, Span<T> dh, Span<T> kept, int batch, Span<T> ws)
            where T : unmanaged, IFloatingPointIeee754<T> => TD.EvaluateKeeping(t, h, theta, dh, kept, batch, ws);
        public static void Vjp<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> h, ReadOnlySpan<T> theta, ReadOnlySpan<T> kept, ReadOnlySpan<T> cot,
            Span<T> gradH, Span<T> gradTheta, Span<T> gradT, int batch, Span<T> ws)
            where T : unmanaged, IFloatingPointIeee754<T> => TD.VectorJacobianProductFromKept(t, h, theta, kept, cot, gradH, gradTheta, gradT, batch, ws);
    }

    [Fact]
    public void CallsAgreeForTheBenchFieldAndForTailWidthsInFloatAndDouble()
    {
        CallsAgree<CnfPyMlpSpec, float>(256);
        CallsAgree<CnfPyMlpSpec, double>(37);
        CallsAgree<TailWidths, float>(45);
        CallsAgree<TailWidths, double>(45);
        CallsAgree<SmallConcatInput, float>(9);    // widths 7 and 5: the scalar tails only
        CallsAgree<MixedWidths, float>(33);
        CallsAgree<MixedWidths, double>(33);
    }

    [Theory]
    [InlineData("backprop")]
    [InlineData("adjoint")]
    public void BenchStepGradientIsUnchanged(string mode)
    {
        // cnf.py's 2 → 64 → 64 → 2 field at the bench's 512 rows (two 256-row chunks), dopri5, float32
        var theta = MlpField<CnfPyMlpSpec>.Layout.Initialize<float>(seed: 1);
        var rng = new Rng(3);
        var y0 = new float[512 * 3];
        for (int i = 0; i < y0.Length; i++) y0[i] = i % 3 == 2 ? 0f : (float)rng.NextGaussian();
        var dL = new float[2 * y0.Length];
        for (int i = 0; i < y0.Length; i++) dL[y0.Length + i] = (float)(rng.NextGaussian() / 512);
        var options = new SolveOptions<float> { RelTol = 1e-5f, AbsTol = 1e-5f };
        var sensitivity = mode == "adjoint" ? OdeDsl.Sensitivity.Adjoint() : OdeDsl.Sensitivity.Backprop;
        OdeGradients<float> Run(bool fused) => With(fused, () =>
            Ode.Forward<ExactTraceCnf<MlpField<CnfPyMlpSpec>>, float>(y0, [1f, 0f], theta, sensitivity, options).Backward(dL));
        var unfused = Run(false);
        var fused = Run(true);
        AssertSameBits<float>(unfused.Theta, fused.Theta, "dL/dθ");
        AssertSameBits<float>(unfused.InitialState, fused.InitialState, "dL/dh₀");
        Assert.Equal(unfused.Backward.FunctionEvaluations, fused.Backward.FunctionEvaluations);
    }
}
