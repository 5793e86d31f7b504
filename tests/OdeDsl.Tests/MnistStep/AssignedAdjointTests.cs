using Mnist;
using OdeDsl.Tests.Tensors;
using OdeDsl.Training;

namespace OdeDsl.Tests.MnistStep;

/// <summary>
/// The generated reverse sweep writes an adjoint that has a single contribution instead of clearing its slot and adding
/// into it (CSharpEmitter.AssignedAdjoints: in the ODE block every adjoint slot is written that way). A slot the sweep
/// reads before writing would then carry whatever the workspace held: with the workspace filled with NaN first, the
/// fused f + VJP and the plain VJP must give the bits they give on a zeroed workspace.
/// </summary>
public sealed class AssignedAdjointTests
{
    private static void Check<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        const int batch = 3, S = 2304;
        T[] theta = OdeBlock.Parameters.Initialize<T>(4);
        T[] t = [T.CreateChecked(0.1), T.CreateChecked(0.5), T.CreateChecked(0.9)];
        T[] h = TensorTestData.Random<T>(batch * S, 5, 1), cot = TensorTestData.Random<T>(batch * S, 6, 1);

        (T[] Dh, T[] GradH, T[] GradTheta, T[] GradT) Run(T fill, bool fused)
        {
            var ws = new T[OdeBlock.Dynamics.WorkspaceLength(batch)];
            Array.Fill(ws, fill);
            T[] dh = new T[batch * S], gh = new T[batch * S], gth = new T[theta.Length], gt = new T[batch];
            if (fused) OdeBlock.Dynamics.EvaluateAndVectorJacobianProduct<T>(t, h, theta, cot, dh, gh, gth, gt, batch, ws);
            else OdeBlock.Dynamics.VectorJacobianProduct<T>(t, h, theta, cot, gh, gth, gt, batch, ws);
            return (dh, gh, gth, gt);
        }

        foreach (bool fused in new[] { true, false })
        {
            var clean = Run(T.Zero, fused);
            var poisoned = Run(T.NaN, fused);
            Assert.Equal(clean.GradH, poisoned.GradH);
            Assert.Equal(clean.GradTheta, poisoned.GradTheta);
            Assert.Equal(clean.GradT, poisoned.GradT);
            Assert.Equal(clean.Dh, poisoned.Dh);
            Assert.All(clean.GradH, v => Assert.True(T.IsFinite(v)));
            Assert.Contains(clean.GradT, v => v != T.Zero);
        }
    }

    [Fact]
    public void OdeBlock_Vjp_IgnoresStaleWorkspace_Float() => Check<float>();

    [Fact]
    public void OdeBlock_Vjp_IgnoresStaleWorkspace_Double() => Check<double>();
}
