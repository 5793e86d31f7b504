using System.Numerics;
using System.Runtime.CompilerServices;

namespace OdeDsl;

/// <summary>The bridge from a solver's Butcher tableau to the scheme backprop replays.</summary>
internal static class RkSchemes
{
    /// <summary>Highest interpolant degree of any built-in tableau (dopri8's is 7, dopri5's 4, Hermite 3); the fit below checks it.</summary>
    private const int MaxDegree = 7;

    public static RkScheme<T> From<T>(OdeMethod method) where T : unmanaged, IFloatingPointIeee754<T> => method switch
    {
        RungeKuttaMethod rk => Cache<T>.Schemes.GetValue(rk.Tableau, FromTableau<T>),
        _ => throw new NotSupportedException($"Backprop replays explicit Runge-Kutta steps; {method.Name} is not one. Use Sensitivity.Adjoint()."),
    };

    /// <summary>
    /// One scheme per tableau and number type: the interpolant fit below solves a linear system, which every backprop
    /// forward would otherwise repeat. Weak keys, so user-made tableaus do not pin their schemes.
    /// </summary>
    private static class Cache<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly ConditionalWeakTable<ButcherTableau, RkScheme<T>> Schemes = new();
    }

    /// <summary>
    /// The solver keeps, per step, the tableau's stages plus one slot for f(t_{n+1}, y_{n+1}) (the next step's k₀, which
    /// non-FSAL tableaus evaluate and the cubic Hermite interpolant uses). Backprop sees that slot as an extra stage with
    /// row a = b, c = 1 and weight 0, so the interpolant stays linear in the stages. FSAL tableaus already have it as
    /// their last stage. The interpolant's extra dense stages (dopri8) follow as further stages of weight 0.
    /// </summary>
    public static RkScheme<T> FromTableau<T>(ButcherTableau tableau) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int s0 = tableau.Stages, s = (tableau.Fsal ? s0 : s0 + 1) + tableau.DenseC.Length;
        var a = new double[s * s];
        var b = new double[s];
        var c = new double[s];
        for (int i = 0; i < s0; i++)
        {
            for (int l = 0; l < i; l++) a[i * s + l] = tableau.A[i][l];
            b[i] = tableau.B[i];
            c[i] = tableau.C[i];
        }
        if (!tableau.Fsal)
        {
            for (int l = 0; l < s0; l++) a[s0 * s + l] = tableau.B[l];
            c[s0] = 1;
        }
        for (int j = 0; j < tableau.DenseC.Length; j++)
        {
            int row = s0 + 1 + j; // extra stages exist only for non-FSAL tableaus, so slots and scheme stages coincide
            for (int l = 0; l < row; l++) a[row * s + l] = tableau.DenseA[j][l];
            c[row] = tableau.DenseC[j];
        }
        return new RkScheme<T>(a, b, c, InterpolationPolynomials(tableau, s), MaxDegree);
    }

    /// <summary>
    /// Coefficients p of w_i(θ) = Σ_p p[i, p] θ^(p+1) for each stage, found by solving the Vandermonde system at
    /// θ = 1/D … 1 (the interpolants are polynomials with w(0) = 0 of degree ≤ D, so this is exact up to rounding).
    /// </summary>
    private static double[] InterpolationPolynomials(ButcherTableau tableau, int s)
    {
        const int d = MaxDegree;
        var weights = new double[tableau.DenseSlots];
        var rhs = new double[d, s];
        var vandermonde = new double[d, d];
        for (int r = 0; r < d; r++)
        {
            double theta = (r + 1.0) / d;
            tableau.InterpolationWeights(theta, weights);
            for (int i = 0; i < s; i++) rhs[r, i] = weights[i];
            for (int p = 0; p < d; p++) vandermonde[r, p] = Math.Pow(theta, p + 1);
        }
        var coefficients = SolveLinear(vandermonde, rhs);   // [d, s]
        var result = new double[s * d];
        for (int i = 0; i < s; i++)
            for (int p = 0; p < d; p++) result[i * d + p] = coefficients[p, i];
        CheckFit(tableau, s, result);
        return result;
    }

    private static void CheckFit(ButcherTableau tableau, int s, double[] poly)
    {
        var weights = new double[tableau.DenseSlots];
        foreach (double theta in (double[])[0.13, 0.5, 0.77])
        {
            tableau.InterpolationWeights(theta, weights);
            for (int i = 0; i < s; i++)
            {
                double value = 0, power = 1;
                for (int p = 0; p < MaxDegree; p++) { power *= theta; value += poly[i * MaxDegree + p] * power; }
                if (Math.Abs(value - weights[i]) > 1e-9)
                    throw new NotSupportedException($"{tableau.Name}: its interpolant is not a polynomial of degree ≤ {MaxDegree} in θ; backprop cannot replay it.");
            }
        }
    }

    /// <summary>Gaussian elimination with partial pivoting, several right-hand sides.</summary>
    private static double[,] SolveLinear(double[,] m, double[,] rhs)
    {
        int n = m.GetLength(0), k = rhs.GetLength(1);
        for (int col = 0; col < n; col++)
        {
            int pivot = col;
            for (int r = col + 1; r < n; r++) if (Math.Abs(m[r, col]) > Math.Abs(m[pivot, col])) pivot = r;
            for (int c = 0; c < n; c++) (m[col, c], m[pivot, c]) = (m[pivot, c], m[col, c]);
            for (int c = 0; c < k; c++) (rhs[col, c], rhs[pivot, c]) = (rhs[pivot, c], rhs[col, c]);
            for (int r = col + 1; r < n; r++)
            {
                double f = m[r, col] / m[col, col];
                for (int c = col; c < n; c++) m[r, c] -= f * m[col, c];
                for (int c = 0; c < k; c++) rhs[r, c] -= f * rhs[col, c];
            }
        }
        for (int row = n - 1; row >= 0; row--)
            for (int c = 0; c < k; c++)
            {
                double sum = rhs[row, c];
                for (int p = row + 1; p < n; p++) sum -= m[row, p] * rhs[p, c];
                rhs[row, c] = sum / m[row, row];
            }
        return rhs;
    }
}
