namespace OdeDsl;

public static partial class Methods
{
    /// <summary>Explicit Adams–Bashforth of order 1–5 (fixed step; rk4 start-up). Set <see cref="SolveOptions{T}.FixedStep"/>.</summary>
    public static OdeMethod AdamsBashforth(int order) => new AdamsMethod(order, corrector: false);

    /// <summary>Adams–Bashforth–Moulton predictor–corrector (PECE) of order 1–5 (fixed step; rk4 start-up).</summary>
    public static OdeMethod AdamsBashforthMoulton(int order) => new AdamsMethod(order, corrector: true);
}
