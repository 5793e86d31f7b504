namespace OdeDsl.Tableaus;

/// <summary>
/// Tsitouras 5(4), seven stages with FSAL (Ch. Tsitouras, "Runge-Kutta pairs of order 5(4) satisfying only the first
/// column simplifying assumption", Comput. Math. Appl. 62(2), 2011, Table 1). The paper lists the error weights
/// b − b̂ directly; the last one is −1/66 (the paper prints its sign reversed, a known erratum), so Σ(b − b̂) = 0.
/// The first column a_i1 = c_i − Σ_{j&gt;1} a_ij follows from the row-sum condition.
/// Dense output: Tsitouras' own fourth-order continuous extension (same paper, the b_i(θ) polynomials of section 3 in
/// their factored form), which needs no extra stage.
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
        order: 5, embeddedOrder: 4, interpolant: Weights);

    // b_i(θ) from the paper; b_i(1) = b_i, so the interpolant ends at y_{n+1}.
    static void Weights(double theta, Span<double> w)
    {
        double t = theta, t2 = t * t;
        w[0] = -1.0530884977290216 * t * (t - 1.3299890189751412) * (t2 - 1.4364028541716351 * t + 0.7139816917074209);
        w[1] = 0.1017 * t2 * (t2 - 2.1966568338249754 * t + 1.2949852507374631);
        w[2] = 2.490627285651252793 * t2 * (t2 - 2.38535645472061657 * t + 1.57803468208092486);
        w[3] = -16.54810288924490272 * (t - 1.21712927295533244) * (t - 0.61620406037800089) * t2;
        w[4] = 47.37952196281928122 * (t - 1.203071208372362603) * (t - 0.658047292653547382) * t2;
        w[5] = -34.87065786149660974 * (t - 1.2) * (t - 2.0 / 3) * t2;
        w[6] = 2.5 * (t - 1) * (t - 0.6) * t2;
    }
}
