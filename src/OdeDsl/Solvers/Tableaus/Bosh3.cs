namespace OdeDsl.Tableaus;

/// <summary>Bogacki-Shampine 3(2), four stages with FSAL (Bogacki &amp; Shampine, Appl. Math. Lett. 2(4), 1989).</summary>
public static class Bosh3
{
    public static ButcherTableau Tableau { get; } = new("bosh3",
        [0, 0.5, 0.75, 1],
        [[], [0.5], [0, 0.75], [2.0 / 9, 1.0 / 3, 4.0 / 9]],
        [2.0 / 9, 1.0 / 3, 4.0 / 9, 0],
        // b − b̂ with b̂ = (7/24, 1/4, 1/3, 1/8)
        [2.0 / 9 - 7.0 / 24, 1.0 / 3 - 0.25, 4.0 / 9 - 1.0 / 3, -0.125],
        order: 3, embeddedOrder: 2);
}
