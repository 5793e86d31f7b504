namespace OdeDsl.Tableaus;

/// <summary>Forward Euler, order 1, one stage (Euler 1768).</summary>
public static class Euler
{
    public static ButcherTableau Tableau { get; } = new("euler", [0], [[]], [1], null, order: 1, embeddedOrder: 0);
}
