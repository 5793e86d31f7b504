namespace Cnf;

/// <summary>Rezende &amp; Mohamed (2015), Table 1: the four 2-D target energies U₁–U₄ (p ∝ e^{−U}).</summary>
public static class Potentials
{
    private static double W1(double x) => Math.Sin(2 * Math.PI * x / 4);
    private static double W2(double x) => 3 * Math.Exp(-0.5 * Math.Pow((x - 1) / 0.6, 2));
    private static double W3(double x) => 3 / (1 + Math.Exp(-(x - 1) / 0.3));

    /// <summary>−log(e^{−a} + e^{−b}), stably.</summary>
    private static double NegLogSumExp(double a, double b)
    {
        double m = Math.Min(a, b);
        return m - Math.Log(Math.Exp(m - a) + Math.Exp(m - b));
    }

    public static double U(int which, double x, double y) => which switch
    {
        1 => 0.5 * Math.Pow((Math.Sqrt(x * x + y * y) - 2) / 0.4, 2)
             + NegLogSumExp(0.5 * Math.Pow((x - 2) / 0.6, 2), 0.5 * Math.Pow((x + 2) / 0.6, 2)),
        2 => 0.5 * Math.Pow((y - W1(x)) / 0.4, 2),
        3 => NegLogSumExp(0.5 * Math.Pow((y - W1(x)) / 0.35, 2), 0.5 * Math.Pow((y - W1(x) + W2(x)) / 0.35, 2)),
        4 => NegLogSumExp(0.5 * Math.Pow((y - W1(x)) / 0.4, 2), 0.5 * Math.Pow((y - W1(x) + W3(x)) / 0.35, 2)),
        _ => throw new ArgumentOutOfRangeException(nameof(which), which, "Potentials are numbered 1 to 4."),
    };

    /// <summary>U per point and ∂U/∂x by central differences (h = 1e-5, double: error ~1e-10, far below the training noise).</summary>
    public static void Energy(int which, ReadOnlySpan<double> pts, Span<double> u, Span<double> grad)
    {
        const double h = 1e-5;
        for (int b = 0; b < u.Length; b++)
        {
            double x = pts[2 * b], y = pts[2 * b + 1];
            u[b] = U(which, x, y);
            grad[2 * b] = (U(which, x + h, y) - U(which, x - h, y)) / (2 * h);
            grad[2 * b + 1] = (U(which, x, y + h) - U(which, x, y - h)) / (2 * h);
        }
    }
}
