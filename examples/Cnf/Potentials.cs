namespace Cnf;

/// <summary>
/// Rezende &amp; Mohamed (2015), Table 1: the four 2-D target energies U₁–U₄ (p ∝ e^{−U}). U₂–U₄ as published do not
/// depend on x away from the sinusoid, so e^{−U} has infinite mass and KL(q‖p) is undefined: a flow keeps lowering
/// the loss by spreading along x (the published-budget runs of 2026-12-07 reached "KL" −0.43 and −1.12 against a
/// normaliser taken on [−6, 6]²). Here they are made proper by a soft wall at |x| = 4, the window in which both
/// papers draw them: beyond it the density falls as a Gaussian of σ = 0.2, so the mass outside [−6, 6]² is below e^{−50}.
/// U₁ confines itself (its ring) and is unchanged.
/// </summary>
public static class Potentials
{
    /// <summary>Half-width of the window the densities are drawn in (both papers' figures: [−4, 4]²).</summary>
    public const double WallAt = 4;
    private const double WallWidth = 0.2;

    /// <summary>½((|x| − 4)/0.2)² beyond |x| = 4, 0 inside: continuous with its derivative, so the energy gradient stays smooth.</summary>
    public static double Wall(double x)
    {
        double over = Math.Abs(x) - WallAt;
        return over > 0 ? 0.5 * (over / WallWidth) * (over / WallWidth) : 0;
    }

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
        2 => 0.5 * Math.Pow((y - W1(x)) / 0.4, 2) + Wall(x),
        3 => NegLogSumExp(0.5 * Math.Pow((y - W1(x)) / 0.35, 2), 0.5 * Math.Pow((y - W1(x) + W2(x)) / 0.35, 2)) + Wall(x),
        4 => NegLogSumExp(0.5 * Math.Pow((y - W1(x)) / 0.4, 2), 0.5 * Math.Pow((y - W1(x) + W3(x)) / 0.35, 2)) + Wall(x),
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
