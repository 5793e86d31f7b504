namespace OdeDsl;

/// <summary>
/// Adams coefficients for a constant step, newest value first.
/// Source: E. Hairer, S. P. Nørsett, G. Wanner, Solving Ordinary Differential Equations I, 2nd ed.,
/// §III.1, Tables 1.1 (explicit Adams, y_{n+1} = y_n + h Σ β_j f_{n−j}) and 1.2 (implicit Adams,
/// y_{n+1} = y_n + h Σ β*_j f_{n+1−j}). Both tables are for the order k method (k values of f).
/// </summary>
internal static class AdamsCoefficients
{
    public const int MaxOrder = 5;

    /// <summary>Adams–Bashforth of order k: weights of f_n, f_{n−1}, …, f_{n−k+1}.</summary>
    public static readonly double[][] Bashforth =
    [
        [1.0],
        [3.0 / 2, -1.0 / 2],
        [23.0 / 12, -16.0 / 12, 5.0 / 12],
        [55.0 / 24, -59.0 / 24, 37.0 / 24, -9.0 / 24],
        [1901.0 / 720, -2774.0 / 720, 2616.0 / 720, -1274.0 / 720, 251.0 / 720],
    ];

    /// <summary>Adams–Moulton of order k: weights of f_{n+1}, f_n, …, f_{n−k+2}.</summary>
    public static readonly double[][] Moulton =
    [
        [1.0],
        [1.0 / 2, 1.0 / 2],
        [5.0 / 12, 8.0 / 12, -1.0 / 12],
        [9.0 / 24, 19.0 / 24, -5.0 / 24, 1.0 / 24],
        [251.0 / 720, 646.0 / 720, -264.0 / 720, 106.0 / 720, -19.0 / 720],
    ];
}
