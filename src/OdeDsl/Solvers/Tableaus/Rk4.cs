namespace OdeDsl.Tableaus;

/// <summary>Kutta's (1901) fourth-order methods, four stages (Hairer, Nørsett &amp; Wanner I, Table II.1.2).</summary>
public static class Rk4
{
    /// <summary>The classic Runge-Kutta method.</summary>
    public static ButcherTableau Classic { get; } = new("rk4",
        [0, 0.5, 0.5, 1],
        [[], [0.5], [0, 0.5], [0, 0, 1]],
        [1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6], null, order: 4, embeddedOrder: 0);

    /// <summary>Kutta's 3/8 rule (torchdiffeq's "rk4" uses this one).</summary>
    public static ButcherTableau ThreeEighths { get; } = new("rk4_38",
        [0, 1.0 / 3, 2.0 / 3, 1],
        [[], [1.0 / 3], [-1.0 / 3, 1], [1, -1, 1]],
        [0.125, 0.375, 0.375, 0.125], null, order: 4, embeddedOrder: 0);
}
