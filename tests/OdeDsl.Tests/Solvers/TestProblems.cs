using System.Numerics;

namespace OdeDsl.Tests.Solvers;

/// <summary>The spiral demo's true field f(y) = (y³)·A with A = [[-0.1, 2], [-2, -0.1]] (row vector times matrix).</summary>
internal struct SpiralField : IOdeRhs<double>
{
    public readonly int StateSize => 2;
    public readonly void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch)
    {
        for (int b = 0; b < batch; b++)
        {
            double a = y[2 * b], c = y[2 * b + 1];
            double a3 = a * a * a, c3 = c * c * c;
            dy[2 * b] = a3 * -0.1 + c3 * -2.0;
            dy[2 * b + 1] = a3 * 2.0 + c3 * -0.1;
        }
    }
}

/// <summary>y' = λ y per component, each row with its own λ (row b uses λ = Lambda·(b+1)), generic over T.</summary>
internal struct Decay<T>(T lambda, int size = 1) : IOdeRhs<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public int Calls;
    public readonly int StateSize => size;
    public void Evaluate(ReadOnlySpan<T> t, ReadOnlySpan<T> y, Span<T> dy, int batch)
    {
        Calls++;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < size; i++)
                dy[b * size + i] = lambda * T.CreateChecked(b + 1) * y[b * size + i];
    }
}

/// <summary>Rotation y1' = y2, y2' = −y1 plus a time forcing: y1' = y2 + cos t … exact solution known.
/// Here: harmonic oscillator, solution (cos t, −sin t) from (1, 0).</summary>
internal struct Oscillator : IOdeRhs<double>
{
    public readonly int StateSize => 2;
    public readonly void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch)
    {
        for (int b = 0; b < batch; b++) { dy[2 * b] = y[2 * b + 1]; dy[2 * b + 1] = -y[2 * b]; }
    }
}

/// <summary>Non-autonomous scalar problem y' = y·cos t, y(0) = 1, exact y = exp(sin t): exercises the c_i.</summary>
internal struct SinExp : IOdeRhs<double>
{
    public readonly int StateSize => 1;
    public readonly void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch)
    {
        for (int b = 0; b < batch; b++) dy[b] = y[b] * Math.Cos(t[b]);
    }
}

internal static class Grid
{
    public static double[] Linspace(double a, double b, int n)
    {
        var r = new double[n];
        for (int i = 0; i < n; i++) r[i] = a + (b - a) * i / (n - 1);
        r[^1] = b;
        return r;
    }
}
