namespace OdeDsl.Tableaus;

/// <summary>Runge-Kutta-Fehlberg 2(1), three stages (Fehlberg, NASA TR R-315, 1969), propagating the second-order
/// solution as torchdiffeq's fehlberg2 does.</summary>
public static class Fehlberg2
{
    public static ButcherTableau Tableau { get; } = new("fehlberg2",
        [0, 0.5, 1],
        [[], [0.5], [1.0 / 256, 255.0 / 256]],
        [1.0 / 512, 255.0 / 256, 1.0 / 512],
        // b − b̂ with b̂ = (1/256, 255/256, 0)
        [-1.0 / 512, 0, 1.0 / 512],
        order: 2, embeddedOrder: 1);
}
