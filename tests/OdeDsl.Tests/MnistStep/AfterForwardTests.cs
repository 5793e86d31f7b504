using Mnist;
using OdeDsl.Tests.Tensors;
using OdeDsl.Training;

namespace OdeDsl.Tests.MnistStep;

/// <summary>
/// The generated VectorJacobianProductAfterForward (the reverse sweep alone, reading what Forward left in the workspace)
/// against the full VectorJacobianProduct, which recomputes the forward pass: the same bits, in float and double.
/// </summary>
public sealed class AfterForwardTests
{
    private static void Check<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        const int batch = 3;
        int n = Downsampling.DownFunction.InputSize, m = Downsampling.DownFunction.OutputSize, p = Downsampling.DownFunction.ParameterCount;
        T[] theta = Downsampling.DownFunction.Layout.Initialize<T>(7);
        var noise = TensorTestData.Random<T>(p, 8, 0.05);
        for (int i = 0; i < p; i++) theta[i] += noise[i];
        T[] x = TensorTestData.Random<T>(batch * n, 9, 1), cot = TensorTestData.Random<T>(batch * m, 10, 1);
        var ws = new T[Downsampling.DownFunction.WorkspaceLength(batch)];
        var y = new T[batch * m];

        T[] gxFull = new T[batch * n], gtFull = TensorTestData.Random<T>(p, 11, 1); // the θ gradient is ADDED: start both from the same values
        T[] gxAfter = new T[batch * n], gtAfter = (T[])gtFull.Clone();
        Downsampling.DownFunction.VectorJacobianProduct<T>(x, theta, cot, gxFull, gtFull, batch, ws);

        Array.Fill(ws, T.NaN); // nothing of the previous call may leak into the next
        Downsampling.DownFunction.Forward<T>(x, theta, y, batch, ws);
        Downsampling.DownFunction.VectorJacobianProductAfterForward<T>(x, theta, cot, gxAfter, gtAfter, batch, ws);

        Assert.Equal(gxFull, gxAfter);
        Assert.Equal(gtFull, gtAfter);
        Assert.Contains(gxAfter, v => v != T.Zero);
    }

    [Fact]
    public void Downsampling_AfterForward_EqualsTheFullVjp_Float() => Check<float>();

    [Fact]
    public void Downsampling_AfterForward_EqualsTheFullVjp_Double() => Check<double>();
}
