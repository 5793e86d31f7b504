using System.Numerics;
using OdeDsl;

namespace Spiral;

/// <summary>The true system of ode_demo: dy/dt = (y³)·A with A = [[-0.1, 2.0], [-2.0, -0.1]] (y a row vector).</summary>
public readonly struct TrueSpiralField : IOdeRhs<double>
{
    public int StateSize => 2;

    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch)
    {
        for (int b = 0; b < batch; b++)
        {
            double c0 = y[2 * b] * y[2 * b] * y[2 * b], c1 = y[2 * b + 1] * y[2 * b + 1] * y[2 * b + 1];
            dy[2 * b] = -0.1 * c0 - 2.0 * c1;
            dy[2 * b + 1] = 2.0 * c0 - 0.1 * c1;
        }
    }
}

/// <summary>ode_demo's data: 1000 times on [0, 25] and the true trajectory from y₀ = [2, 0] (dopri5, rtol 1e-7, atol 1e-9, float64).</summary>
public sealed class SpiralProblem
{
    public const int DataSize = 1000;
    public const double EndTime = 25.0;

    public SpiralProblem()
    {
        Times = new double[DataSize];
        for (int i = 0; i < DataSize; i++) Times[i] = EndTime * i / (DataSize - 1);
        var solution = Ode.Solve(new TrueSpiralField(), [2.0, 0.0], Times,
            new SolveOptions<double> { RelTol = 1e-7, AbsTol = 1e-9, ThrowOnFailure = true });
        TrueY = solution.States; // [1000, 1, 2]
        TrueSolveStats = solution.Stats;
    }

    public double[] Times { get; }

    /// <summary>[DataSize, 2]: the true state at every time.</summary>
    public double[] TrueY { get; }

    public SolverStats TrueSolveStats { get; }

    /// <summary>ode_demo's initialisation: weights N(0, 0.1²), biases 0 (its ODEFunc overrides PyTorch's default).</summary>
    public static T[] DemoInitialParameters<T>(ParameterLayout layout, ulong seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var theta = new T[layout.Count];
        var rng = new OdeDsl.Training.Rng(seed);
        foreach (var e in layout.Entries)
            if (e.Shape.Length == 2)
                for (int i = 0; i < e.Length; i++) theta[e.Offset + i] = T.CreateChecked(0.1 * rng.NextGaussian());
        return theta;
    }
}
