namespace OdeDsl.Bench.Detest;

// The non-stiff DETEST problem set, classes A–E (25 problems), as defined in
//   T. E. Hull, W. H. Enright, B. M. Fellen, A. E. Sedgwick,
//   "Comparing numerical methods for ordinary differential equations",
//   SIAM J. Numer. Anal. 9(4):603–637, 1972 (problems listed in its appendix).
// Every problem is integrated from t = 0 to t = 20. Where public copies differ we follow the paper:
// E4 uses the constant 0.032, and C5 uses the paper's five-outer-planet table (k2, masses, and
// heliocentric positions/velocities of Jupiter, Saturn, Uranus, Neptune, Pluto; time in units of 100 days).
// Only the equations and constants are taken from the paper; the code is ours.

/// <summary>One DETEST right-hand side for a single state row; <see cref="Rows"/> lifts it to a batch.</summary>
public interface IDetestRow
{
    static abstract int Size { get; }
    static abstract double[] InitialValue { get; }
    static abstract void Row(double t, ReadOnlySpan<double> y, Span<double> dy);
}

/// <summary>Applies a per-row DETEST right-hand side to every row of a batch (one t per row).</summary>
public static class Rows
{
    public static void Apply<P>(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch)
        where P : IDetestRow
    {
        int n = P.Size;
        for (int b = 0; b < batch; b++)
            P.Row(t[b], y.Slice(b * n, n), dy.Slice(b * n, n));
    }
}

// ---- Class A: single equations -------------------------------------------------------------

/// <summary>A1: y' = −y (exponential decay).</summary>
public readonly struct A1 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 1;
    public static double[] InitialValue => [1.0];
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy) => dy[0] = -y[0];
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<A1>(t, y, dy, batch);
}

/// <summary>A2: y' = −y³/2 (special case of the Riccati equation); y = 1/√(t+1).</summary>
public readonly struct A2 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 1;
    public static double[] InitialValue => [1.0];
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy) => dy[0] = -0.5 * y[0] * y[0] * y[0];
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<A2>(t, y, dy, batch);
}

/// <summary>A3: y' = y cos t (oscillatory); y = exp(sin t).</summary>
public readonly struct A3 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 1;
    public static double[] InitialValue => [1.0];
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy) => dy[0] = y[0] * Math.Cos(t);
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<A3>(t, y, dy, batch);
}

/// <summary>A4: y' = (y/4)(1 − y/20) (logistic); y = 20/(1 + 19 e^{−t/4}).</summary>
public readonly struct A4 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 1;
    public static double[] InitialValue => [1.0];
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy) => dy[0] = 0.25 * y[0] * (1.0 - y[0] / 20.0);
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<A4>(t, y, dy, batch);
}

/// <summary>A5: y' = (y − t)/(y + t) (spiral curve), y(0) = 4.</summary>
public readonly struct A5 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 1;
    public static double[] InitialValue => [4.0];
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy) => dy[0] = (y[0] - t) / (y[0] + t);
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<A5>(t, y, dy, batch);
}

// ---- Class B: small systems ----------------------------------------------------------------

/// <summary>B1: growth of two conflicting populations (Lotka–Volterra), y(0) = (1, 3).</summary>
public readonly struct B1 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 2;
    public static double[] InitialValue => [1.0, 3.0];
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy)
    {
        dy[0] = 2.0 * (y[0] - y[0] * y[1]);
        dy[1] = -(y[1] - y[0] * y[1]);
    }
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<B1>(t, y, dy, batch);
}

/// <summary>B2: linear chemical reaction, y(0) = (2, 0, 1).</summary>
public readonly struct B2 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 3;
    public static double[] InitialValue => [2.0, 0.0, 1.0];
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy)
    {
        dy[0] = -y[0] + y[1];
        dy[1] = y[0] - 2.0 * y[1] + y[2];
        dy[2] = y[1] - y[2];
    }
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<B2>(t, y, dy, batch);
}

/// <summary>B3: nonlinear chemical reaction, y(0) = (1, 0, 0).</summary>
public readonly struct B3 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 3;
    public static double[] InitialValue => [1.0, 0.0, 0.0];
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy)
    {
        dy[0] = -y[0];
        dy[1] = y[0] - y[1] * y[1];
        dy[2] = y[1] * y[1];
    }
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<B3>(t, y, dy, batch);
}

/// <summary>B4: integral surface of a torus, y(0) = (3, 0, 0).</summary>
public readonly struct B4 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 3;
    public static double[] InitialValue => [3.0, 0.0, 0.0];
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy)
    {
        double r = Math.Sqrt(y[0] * y[0] + y[1] * y[1]);
        dy[0] = -y[1] - y[0] * y[2] / r;
        dy[1] = y[0] - y[1] * y[2] / r;
        dy[2] = y[0] / r;
    }
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<B4>(t, y, dy, batch);
}

/// <summary>B5: Euler equations of a rigid body without external forces, y(0) = (0, 1, 1).</summary>
public readonly struct B5 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 3;
    public static double[] InitialValue => [0.0, 1.0, 1.0];
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy)
    {
        dy[0] = y[1] * y[2];
        dy[1] = -y[0] * y[2];
        dy[2] = -0.51 * y[0] * y[1];
    }
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<B5>(t, y, dy, batch);
}

// ---- Class C: moderate systems -------------------------------------------------------------

/// <summary>C1: radioactive decay chain, 10 components, y(0) = e₁.</summary>
public readonly struct C1 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 10;
    public static double[] InitialValue => Unit(10);
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy)
    {
        dy[0] = -y[0];
        for (int i = 1; i < 9; i++) dy[i] = y[i - 1] - y[i];
        dy[9] = y[8];
    }
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<C1>(t, y, dy, batch);
    internal static double[] Unit(int n) { var v = new double[n]; v[0] = 1.0; return v; }
}

/// <summary>C2: decay chain with rates 1…9, 10 components, y(0) = e₁.</summary>
public readonly struct C2 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 10;
    public static double[] InitialValue => C1.Unit(10);
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy)
    {
        dy[0] = -y[0];
        for (int i = 1; i < 9; i++) dy[i] = i * y[i - 1] - (i + 1) * y[i];
        dy[9] = 9.0 * y[8];
    }
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<C2>(t, y, dy, batch);
}

/// <summary>C3: heat equation (tridiagonal −2, 1), 10 components, y(0) = e₁.</summary>
public readonly struct C3 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 10;
    public static double[] InitialValue => C1.Unit(10);
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy) => Tridiagonal(y, dy);
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<C3>(t, y, dy, batch);

    internal static void Tridiagonal(ReadOnlySpan<double> y, Span<double> dy)
    {
        int n = y.Length;
        dy[0] = -2.0 * y[0] + y[1];
        for (int i = 1; i < n - 1; i++) dy[i] = y[i - 1] - 2.0 * y[i] + y[i + 1];
        dy[n - 1] = y[n - 2] - 2.0 * y[n - 1];
    }
}

/// <summary>C4: C3 with 51 components.</summary>
public readonly struct C4 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 51;
    public static double[] InitialValue => C1.Unit(51);
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy) => C3.Tridiagonal(y, dy);
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<C4>(t, y, dy, batch);
}

/// <summary>
/// C5: the five outer planets (Jupiter … Pluto) about the Sun (whose mass includes the inner planets),
/// 30 components: positions (body-major, x y z) then velocities. Units: AU, 100 days, solar masses.
/// </summary>
/// <remarks>
/// The table's velocities are in AU per 100 days (Jupiter: |v| ≈ 0.79 at r ≈ 4.98, a near-circular orbit only if
/// v² ≈ k²·M/r), so k² is the Gaussian constant squared in those units: 0.01720209895² · 100² = 2.95912208286.
/// With the per-day value 2.959e-4 the planets would barely feel the Sun and fly nearly straight; the tests check
/// that Jupiter stays between 4.9 and 5.5 AU from the Sun over t ∈ [0, 20] (2000 days).
/// </remarks>
public readonly struct C5 : IOdeRhs<double>, IDetestRow
{
    public const double K2 = 2.95912208286;
    private const double M0 = 1.00000597682;
    private static ReadOnlySpan<double> Mass => [0.000954786104043, 0.000285583733151, 0.0000437273164546, 0.0000517759138449, 0.00000277777777778];

    public static int Size => 30;
    public static double[] InitialValue =>
    [
        3.42947415189, 3.35386959711, 1.35494901715,
        6.64145542550, 5.97156957878, 2.18231499728,
        11.2630437207, 14.6952576794, 6.27960525067,
        -30.1552268759, 1.65699966404, 1.43785752721,
        -21.1238353380, 28.4465098142, 15.3882659679,
        -0.557160570446, 0.505696783289, 0.230578543901,
        -0.415570776342, 0.365682722812, 0.169143213293,
        -0.325325669158, 0.189706021964, 0.0877265322780,
        -0.0240476254170, -0.287659532608, -0.117219543175,
        -0.176860753121, -0.216393453025, -0.0148647893090,
    ];
    public int StateSize => Size;

    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy)
    {
        ReadOnlySpan<double> m = Mass;
        Span<double> r3 = stackalloc double[5];
        for (int i = 0; i < 5; i++)
        {
            double x = y[3 * i], v = y[3 * i + 1], w = y[3 * i + 2];
            double r = Math.Sqrt(x * x + v * v + w * w);
            r3[i] = r * r * r;
        }
        for (int i = 0; i < 15; i++) dy[i] = y[15 + i];
        for (int i = 0; i < 5; i++)
        {
            for (int c = 0; c < 3; c++)
            {
                double yi = y[3 * i + c];
                double acc = -(M0 + m[i]) * yi / r3[i];
                for (int k = 0; k < 5; k++)
                {
                    if (k == i) continue;
                    double dx = y[3 * k] - y[3 * i], dv = y[3 * k + 1] - y[3 * i + 1], dw = y[3 * k + 2] - y[3 * i + 2];
                    double d = Math.Sqrt(dx * dx + dv * dv + dw * dw);
                    double yk = y[3 * k + c];
                    acc += m[k] * ((yk - yi) / (d * d * d) - yk / r3[k]);
                }
                dy[15 + 3 * i + c] = K2 * acc;
            }
        }
    }
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<C5>(t, y, dy, batch);
}

// ---- Class D: orbit equations (Kepler two-body, eccentricity ε) ------------------------------

/// <summary>Shared two-body right-hand side: y = (x, y, x', y'), r'' = −r/|r|³, starting at perihelion.</summary>
public static class Orbit
{
    public static double[] Start(double e) => [1.0 - e, 0.0, 0.0, Math.Sqrt((1.0 + e) / (1.0 - e))];

    public static void Row(ReadOnlySpan<double> y, Span<double> dy)
    {
        double r2 = y[0] * y[0] + y[1] * y[1];
        double r3 = r2 * Math.Sqrt(r2);
        dy[0] = y[2];
        dy[1] = y[3];
        dy[2] = -y[0] / r3;
        dy[3] = -y[1] / r3;
    }

    /// <summary>The exact state at time t (semi-major axis 1, period 2π), from Kepler's equation E − e sin E = t.</summary>
    public static double[] Exact(double e, double t)
    {
        double big = t;
        for (int i = 0; i < 100; i++)
        {
            double delta = (big - e * Math.Sin(big) - t) / (1.0 - e * Math.Cos(big));
            big -= delta;
            if (Math.Abs(delta) < 1e-16) break;
        }
        double c = Math.Cos(big), s = Math.Sin(big), q = Math.Sqrt(1.0 - e * e), den = 1.0 - e * c;
        return [c - e, q * s, -s / den, q * c / den];
    }
}

/// <summary>D1: orbit with eccentricity 0.1.</summary>
public readonly struct D1 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 4;
    public static double[] InitialValue => Orbit.Start(0.1);
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy) => Orbit.Row(y, dy);
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<D1>(t, y, dy, batch);
}

/// <summary>D2: orbit with eccentricity 0.3.</summary>
public readonly struct D2 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 4;
    public static double[] InitialValue => Orbit.Start(0.3);
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy) => Orbit.Row(y, dy);
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<D2>(t, y, dy, batch);
}

/// <summary>D3: orbit with eccentricity 0.5.</summary>
public readonly struct D3 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 4;
    public static double[] InitialValue => Orbit.Start(0.5);
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy) => Orbit.Row(y, dy);
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<D3>(t, y, dy, batch);
}

/// <summary>D4: orbit with eccentricity 0.7.</summary>
public readonly struct D4 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 4;
    public static double[] InitialValue => Orbit.Start(0.7);
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy) => Orbit.Row(y, dy);
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<D4>(t, y, dy, batch);
}

/// <summary>D5: orbit with eccentricity 0.9.</summary>
public readonly struct D5 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 4;
    public static double[] InitialValue => Orbit.Start(0.9);
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy) => Orbit.Row(y, dy);
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<D5>(t, y, dy, batch);
}

// ---- Class E: higher-order equations written as first-order systems -------------------------

/// <summary>E1: Bessel's equation of order 1/2 in x = t + 1; y = √(2/(πx)) sin x.</summary>
public readonly struct E1 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 2;
    public static double[] InitialValue => [Exact(0.0)[0], Exact(0.0)[1]];
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy)
    {
        double x = t + 1.0;
        dy[0] = y[1];
        dy[1] = -(y[1] / x + (1.0 - 0.25 / (x * x)) * y[0]);
    }
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<E1>(t, y, dy, batch);

    /// <summary>J_{1/2}(t+1) and its derivative (the paper gives y(0) = 0.6713967071418030, y'(0) = 0.09540051444747446).</summary>
    public static double[] Exact(double t)
    {
        double x = t + 1.0, c = Math.Sqrt(2.0 / Math.PI);
        return [c * Math.Sin(x) / Math.Sqrt(x), c * (Math.Cos(x) / Math.Sqrt(x) - 0.5 * Math.Sin(x) / (x * Math.Sqrt(x)))];
    }
}

/// <summary>E2: Van der Pol's equation with μ = 1, y(0) = (2, 0).</summary>
public readonly struct E2 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 2;
    public static double[] InitialValue => [2.0, 0.0];
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy)
    {
        dy[0] = y[1];
        dy[1] = (1.0 - y[0] * y[0]) * y[1] - y[0];
    }
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<E2>(t, y, dy, batch);
}

/// <summary>E3: Duffing's equation y'' = y³/6 − y + 2 sin(2.78535 t), y(0) = (0, 0).</summary>
public readonly struct E3 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 2;
    public static double[] InitialValue => [0.0, 0.0];
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy)
    {
        dy[0] = y[1];
        dy[1] = y[0] * y[0] * y[0] / 6.0 - y[0] + 2.0 * Math.Sin(2.78535 * t);
    }
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<E3>(t, y, dy, batch);
}

/// <summary>E4: y'' = 0.032 − 0.4 y'² (the paper's constant 0.032), y(0) = (30, 0).</summary>
public readonly struct E4 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 2;
    public static double[] InitialValue => [30.0, 0.0];
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy)
    {
        dy[0] = y[1];
        dy[1] = 0.032 - 0.4 * y[1] * y[1];
    }
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<E4>(t, y, dy, batch);
}

/// <summary>E5: y'' = √(1 + y'²)/(25 − t), y(0) = (0, 0).</summary>
public readonly struct E5 : IOdeRhs<double>, IDetestRow
{
    public static int Size => 2;
    public static double[] InitialValue => [0.0, 0.0];
    public int StateSize => Size;
    public static void Row(double t, ReadOnlySpan<double> y, Span<double> dy)
    {
        dy[0] = y[1];
        dy[1] = Math.Sqrt(1.0 + y[1] * y[1]) / (25.0 - t);
    }
    public void Evaluate(ReadOnlySpan<double> t, ReadOnlySpan<double> y, Span<double> dy, int batch) => Rows.Apply<E5>(t, y, dy, batch);
}
