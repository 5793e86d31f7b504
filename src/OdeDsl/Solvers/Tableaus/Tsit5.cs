namespace OdeDsl.Tableaus;

/// <summary>
/// Tsitouras 5(4), seven stages with FSAL (Ch. Tsitouras, "Runge-Kutta pairs of order 5(4) satisfying only the first
/// column simplifying assumption", Comput. Math. Appl. 62(2), 2011, Table 1). The paper lists the error weights
/// b − b̂ directly; the last one is −1/66 (the paper prints its sign reversed, a known erratum), so Σ(b − b̂) = 0.
/// The first column a_i1 = c_i − Σ_{j&gt;1} a_ij follows from the row-sum condition.
/// Dense output: cubic Hermite (Tsitouras' own interpolant is not implemented yet).
/// </summary>
public static class Tsit5
{
    static readonly double[] c = [0, 0.161, 0.327, 0.9, 0.9800255409045097, 1, 1];
    static readonly double[] b = [0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742, -3.290069515436081, 2.324710524099774, 0];

    static double[] Row(int i, params double[] rest) => [c[i] - rest.Sum(), .. rest];

    public static ButcherTableau Tableau { get; } = new("tsit5",
        c,
        [
            [],
            [0.161],
            Row(2, 0.3354806554923570),
            Row(3, -6.359448489975075, 4.362295432869581),
            Row(4, -11.74888356406283, 7.495539342889836, -0.09249506636175525),
            Row(5, -12.92096931784711, 8.159367898576159, -0.07158497328140100, -0.02826905039406838),
            b[..6],
        ],
        b,
        [0.001780011052226, 0.000816434459657, -0.007880878010262, 0.144711007173263, -0.582357165452555, 0.458082105929187, -1.0 / 66],
        order: 5, embeddedOrder: 4);
}
