namespace OdeDsl.Tableaus;

/// <summary>
/// Dormand-Prince 5(4), seven stages with FSAL (Dormand &amp; Prince, J. Comput. Appl. Math. 6(1), 1980).
/// The embedded weights are Shampine's (Math. Comp. 46, 1986) as used by torchdiffeq, so step sequences agree:
/// b̂ = (1951/21600, 0, 22642/50085, 451/720, −12231/42400, 649/6300, 1/60).
/// Dense output: the fourth-order continuous extension of Hairer, Nørsett &amp; Wanner I (II.6, code DOPRI5, coefficients d_i
/// from Shampine 1986), y(θ) = y0 + θ(r2 + (1−θ)(r3 + θ(r4 + (1−θ) r5))) rewritten as stage weights b_i(θ).
/// </summary>
public static class Dopri5
{
    static readonly double[] b = [35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0];
    static readonly double[] d =
    [
        -12715105075.0 / 11282082432, 0, 87487479700.0 / 32700410799, -10690763975.0 / 1880347072,
        701980252875.0 / 199316789632, -1453857185.0 / 822651844, 69997945.0 / 29380423,
    ];

    public static ButcherTableau Tableau { get; } = new("dopri5",
        [0, 0.2, 0.3, 0.8, 8.0 / 9, 1, 1],
        [
            [],
            [0.2],
            [3.0 / 40, 9.0 / 40],
            [44.0 / 45, -56.0 / 15, 32.0 / 9],
            [19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729],
            [9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656],
            [35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84],
        ],
        b,
        [
            35.0 / 384 - 1951.0 / 21600, 0, 500.0 / 1113 - 22642.0 / 50085, 125.0 / 192 - 451.0 / 720,
            -2187.0 / 6784 + 12231.0 / 42400, 11.0 / 84 - 649.0 / 6300, -1.0 / 60,
        ],
        order: 5, embeddedOrder: 4, interpolant: Weights);

    // Expanding the nested form: b_i(θ) = b_i θ²(3−2θ) + [i=0] θ(1−θ)² − [i=6] θ²(1−θ) + d_i θ²(1−θ)².
    static void Weights(double theta, Span<double> w)
    {
        double t2 = theta * theta, om = 1 - theta;
        double main = t2 * (3 - 2 * theta), corr = t2 * om * om;
        for (int i = 0; i < 7; i++) w[i] = b[i] * main + d[i] * corr;
        w[0] += theta * om * om;
        w[6] -= t2 * om;
    }
}
