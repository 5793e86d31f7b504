namespace OdeDsl.Tests.Solvers;

/// <summary>The Runge-Kutta loop's kept arrays (SolverScratch): what a solve sees must not depend on what a previous one left.</summary>
public class SolverScratchTests
{
    [Fact]
    public void Rent_GivesBackAKeptArrayCleared_AndOfTheExactLength()
    {
        // On a thread of its own: the kept arrays are per thread, and other tests' solves fill the test runner's.
        Exception? failure = null;
        var thread = new Thread(() => { try { KeptArrayRoundTrip(); } catch (Exception ex) { failure = ex; } });
        thread.Start();
        thread.Join();
        if (failure is not null) throw failure;
    }

    [Fact]
    public void AFullTable_KeepsTheNewestArray()
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                var held = Enumerable.Range(0, 12).Select(i => new float[SolverScratch<float>.MinKeptLength + i]).ToArray(); // alive: no slot frees itself
                foreach (var a in held) SolverScratch<float>.Return(a);
                Assert.Same(held[^1], SolverScratch<float>.Rent(held[^1].Length));
            }
            catch (Exception ex) { failure = ex; }
        });
        thread.Start();
        thread.Join();
        if (failure is not null) throw failure;
    }

    private static void KeptArrayRoundTrip()
    {
        int length = SolverScratch<float>.MinKeptLength + 5;
        var a = SolverScratch<float>.Rent(length);
        Array.Fill(a, float.NaN);
        SolverScratch<float>.Return(a);
        var b = SolverScratch<float>.Rent(length);
        Assert.Same(a, b); // kept (a strong reference above keeps it alive)
        Assert.All(b, v => Assert.Equal(0f, v));
        var c = SolverScratch<float>.Rent(length);   // b is out: a second rent of that size gets a new array
        Assert.NotSame(b, c);
        Assert.Equal(length, SolverScratch<float>.Rent(length + 1).Length - 1);
        SolverScratch<float>.Return(b); SolverScratch<float>.Return(c);
    }

    [Fact]
    public void RepeatedLargeSolves_GiveTheSameBits_WhateverTheKeptArraysHeld()
    {
        // A batch large enough that every internal array is kept (batch · 2 ≥ MinKeptLength), dopri5 adaptive.
        int batch = SolverScratch<double>.MinKeptLength;
        var y0 = new double[2 * batch];
        for (int b = 0; b < batch; b++) { y0[2 * b] = 1 + 0.001 * b; y0[2 * b + 1] = -0.5; }
        var options = new SolveOptions<double> { RelTol = 1e-6, AbsTol = 1e-6 };
        var first = Ode.Solve(new SpiralField(), y0, [0.0, 0.5, 1.0], options);
        // Poison whatever arrays of these sizes the thread keeps, then solve again.
        // (dopri5 keeps y_{n+1}, the stage input and the scaled error, n each, and 8 stage slots.)
        int n = y0.Length;
        var kept = new[] { SolverScratch<double>.Rent(n), SolverScratch<double>.Rent(n), SolverScratch<double>.Rent(n), SolverScratch<double>.Rent(8 * n) };
        foreach (var a in kept) { Array.Fill(a, double.NaN); SolverScratch<double>.Return(a); }
        var second = Ode.Solve(new SpiralField(), y0, [0.0, 0.5, 1.0], options);
        Assert.True(first.Succeeded && second.Succeeded);
        Assert.Equal(first.Stats.FunctionEvaluations, second.Stats.FunctionEvaluations);
        Assert.Equal(first.States, second.States);
    }
}
