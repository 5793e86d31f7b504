namespace OdeDsl.Tableaus;

/// <summary>Explicit midpoint rule, order 2, two stages (Runge 1895; Hairer, Nørsett &amp; Wanner I, II.1).</summary>
public static class Midpoint
{
    public static ButcherTableau Tableau { get; } = new("midpoint", [0, 0.5], [[], [0.5]], [0, 1], null, order: 2, embeddedOrder: 0);
}
