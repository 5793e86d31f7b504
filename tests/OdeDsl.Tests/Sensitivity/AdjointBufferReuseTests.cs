namespace OdeDsl.Tests.Sensitivity;

/// <summary>
/// The adjoint keeps its large buffers across gradients (the augmented state z, −a, the per-chunk θ sums and the
/// backward solves' state arrays, through SolverScratch): whatever the kept arrays held, the next gradient must be the
/// same bits.
/// </summary>
public class AdjointBufferReuseTests
{
    [Fact]
    public void RepeatedAdjointGradients_GiveTheSameBits_WhateverTheKeptArraysHeld()
    {
        int batch = SolverScratch<double>.MinKeptLength / MlpField.StateSize, n = batch * MlpField.StateSize;
        var y0 = new double[n];
        for (int i = 0; i < n; i++) y0[i] = 0.5 * Math.Sin(0.37 * i);
        double[] times = [0.0, 0.4, 1.0];
        var theta = MlpField.SeededTheta(3);
        var dL = new double[times.Length * n];
        for (int i = 0; i < dL.Length; i++) dL[i] = Math.Cos(0.11 * i);
        var options = new SolveOptions<double> { RelTol = 1e-6, AbsTol = 1e-6 };
        var first = Ode.Gradient<MlpField, double>(y0, times, theta, dL, OdeDsl.Sensitivity.Adjoint(), options);

        // Poison every array of the adjoint's sizes the thread keeps (2n + P + 1: z, the backward solves' y, final states,
        // y_{n+1}, stage input and scaled error; n: −a and the forward's), then take the gradient again.
        int zLength = 2 * n + MlpField.ParameterCount + 1;
        var held = Enumerable.Range(0, 8).Select(i => SolverScratch<double>.Rent(i < 6 ? zLength : n)).ToArray();
        foreach (var a in held) { Array.Fill(a, double.NaN); SolverScratch<double>.Return(a); }
        var second = Ode.Gradient<MlpField, double>(y0, times, theta, dL, OdeDsl.Sensitivity.Adjoint(), options);

        Assert.Equal(first.InitialState, second.InitialState);
        Assert.Equal(first.Theta, second.Theta);
        Assert.Equal(first.Backward, second.Backward);
        Assert.All(second.Theta, v => Assert.True(double.IsFinite(v)));
    }
}
