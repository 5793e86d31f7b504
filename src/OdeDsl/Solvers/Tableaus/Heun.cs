namespace OdeDsl.Tableaus;

/// <summary>Heun's methods (Heun 1900; Hairer, Nørsett &amp; Wanner I, II.1).</summary>
public static class Heun
{
    /// <summary>Heun's second-order (explicit trapezoidal) method, fixed step.</summary>
    public static ButcherTableau Tableau { get; } = new("heun", [0, 1], [[], [1]], [0.5, 0.5], null, order: 2, embeddedOrder: 0);

    /// <summary>Heun's third-order method: c = (0, 1/3, 2/3), b = (1/4, 0, 3/4).</summary>
    public static ButcherTableau Third { get; } = new("heun3", [0, 1.0 / 3, 2.0 / 3], [[], [1.0 / 3], [0, 2.0 / 3]], [0.25, 0, 0.75], null, order: 3, embeddedOrder: 0);

    /// <summary>Adaptive Heun 2(1): the trapezoid rule with forward Euler as the embedded solution (as torchdiffeq's adaptive_heun).</summary>
    public static ButcherTableau Adaptive { get; } = new("adaptive_heun", [0, 1], [[], [1]], [0.5, 0.5], [-0.5, 0.5], order: 2, embeddedOrder: 1);
}
