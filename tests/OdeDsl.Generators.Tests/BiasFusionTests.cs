using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;

namespace OdeDsl.Generators.Tests;

/// <summary>
/// Where the emitter fuses a bias add into its activation (BiasActivations) and where it must not. The models are
/// compiled in this project too (Models.BiasFusedField / BiasNotFusedField), where DynamicsPropertyTests checks
/// Evaluate against the eager method and the VJP, JVP and divergence against finite differences and each other.
/// </summary>
public class BiasFusionTests
{
    public const string Fused = """
        public static partial class BiasFusedField
        {
            [OdeDynamics]
            static Vec F([Shape(3)] Vec h, float t, [Param(19, 3)] Mat W1, [Param(19)] Vec b1,
                         [Param(13, 19)] Mat W2, [Param(13)] Vec b2, [Param(3, 13)] Mat W3, [Param(3)] Vec b3)
            {
                var u = Sigmoid(W1 * h + b1);
                var v = Tanh(b2 + W2 * u);
                return Exp(W3 * v + b3) * 0.5f - h * 0.25f;
            }
        }
        """;

    public const string NotFused = """
        public static partial class BiasNotFusedField
        {
            [OdeDynamics]
            static Vec F([Shape(3)] Vec h, float t, [Param(19, 3)] Mat W1, [Param(19)] Vec b1,
                         [Param(13, 19)] Mat W2, [Param(13)] Vec b2, [Param(3, 13)] Mat W3, [Param(3)] Vec b3)
            {
                var z = W1 * h + b1;
                var a = Tanh(z) + z * 0.5f;
                var r = Relu(W2 * a + b2);
                return Softplus(W3 * r + b3) - h * 0.25f;
            }
        }
        """;

    private static string Generate(string body)
    {
        var result = GeneratorDriverHelper.Run(GeneratorDriverHelper.Usings + body);
        Assert.Empty(result.DriverDiagnostics);
        var errors = result.Output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToArray();
        Assert.True(errors.Length == 0, string.Join("\n", errors.Select(e => e.ToString())));
        return result.Run.Results[0].GeneratedSources.Single().SourceText.ToString();
    }

    private static int Count(string text, string what) => Regex.Matches(text, Regex.Escape(what)).Count;

    // five forward sweeps: Evaluate, VectorJacobianProduct, EvaluateAndVectorJacobianProduct, JacobianVectorProduct,
    // EvaluateWithDivergence
    private const int Sweeps = 5;

    [Fact]
    public void BiasAddsFeedingOnlyAnOutputDerivativeActivationAreFused()
    {
        var all = Generate(Fused);
        // the divergence VJP (a program of its own, after the IOdeDynamics members) is checked at the end
        int cut = all.IndexOf("public static int DivergenceWorkspaceLength", StringComparison.Ordinal);
        Assert.True(cut > 0);
        var code = all[..cut];
        Assert.Equal(Sweeps, Count(code, "BiasActivations.Sigmoid<T>(batch, 19, ws.Slice(f"));
        Assert.Equal(Sweeps, Count(code, "BiasActivations.Tanh<T>(batch, 13, ws.Slice(f"));
        Assert.Equal(Sweeps, Count(code, "BiasActivations.Exp<T>(batch, 3, ws.Slice(f"));
        Assert.Equal(0, Count(code, "AddRowVector"));
        Assert.Equal(0, Count(code, "Tensors.Activations.Tanh<T>("));
        Assert.Equal(3 * Sweeps, Count(code, "fused in: v"));
        // the adds' reverse sweep is unchanged: each bias gradient still gets the column sums of its adjoint
        Assert.Equal(3 * 2, Count(code, "RowOps.AccumulateColumnSums<T>"));
        Assert.Equal(2, Count(code, "Activations.SigmoidBackwardAdd<T>"));
        Assert.Equal(2, Count(code, "Activations.TanhBackwardAdd<T>"));
        // its three forward sweeps (fused method, EvaluateWithDivergenceForReverse, DirectionalForward) fuse the same three
        // adds (the tangent rules of Sigmoid, Tanh and Exp read y, not x)
        var divergenceVjp = all[cut..];
        Assert.Equal(3, Count(divergenceVjp, "BiasActivations.Sigmoid<T>(batch, 19, ws.Slice(f"));
        Assert.Equal(3, Count(divergenceVjp, "BiasActivations.Tanh<T>(batch, 13, ws.Slice(f"));
        Assert.Equal(3, Count(divergenceVjp, "BiasActivations.Exp<T>(batch, 3, ws.Slice(f"));
        Assert.Equal(0, Count(divergenceVjp, "AddRowVector"));
    }

    [Fact]
    public void BiasAddsReadTwiceOrByAnInputDerivativeAreNotFused()
    {
        var code = Generate(NotFused);
        Assert.Equal(0, Count(code, "BiasActivations"));
        Assert.Equal(3 * Sweeps, Count(code, "RowOps.AddRowVector<T>"));
        Assert.Equal(Sweeps, Count(code, "Tensors.Activations.Tanh<T>("));
        Assert.Equal(Sweeps, Count(code, "Tensors.Activations.Relu<T>("));
    }
}
