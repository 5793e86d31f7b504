using System.Numerics;

namespace OdeDsl;

// STAND-IN written by the sensitivity work so that gradients could be built and tested while the solvers branch had
// not landed. It is deliberately small (dopri5 and rk4, shared steps, no events); the solvers branch replaces this
// folder, Methods.Dopri5/Rk4, Ode.Solve's body and the Steps/Interpolate members of Solution.

/// <summary>An explicit Runge-Kutta method given by its Butcher tableau and a dense interpolant over its stages.</summary>
internal sealed class StandInRungeKutta : OdeMethod
{
    public required string MethodName { get; init; }
    public required int MethodOrder { get; init; }
    /// <summary>[s·s] row-major, strictly lower triangular.</summary>
    public required double[] A { get; init; }
    public required double[] B { get; init; }
    public required double[] C { get; init; }
    /// <summary>b − b̂ of the embedded pair; null for fixed-step methods.</summary>
    public double[]? ErrorWeights { get; init; }
    /// <summary>[s, degree]: y(t_n + θh) = y_n + h Σ_i w_i(θ) k_i with w_i(θ) = Σ_p Interpolation[i, p] θ^(p+1).</summary>
    public required double[] Interpolation { get; init; }
    public required int InterpolationDegree { get; init; }

    public override string Name => MethodName;
    public override int Order => MethodOrder;
    public override bool IsAdaptive => ErrorWeights is not null;

    internal override Solution<T> Run<TRhs, T>(TRhs rhs, ReadOnlySpan<T> y0, ReadOnlySpan<T> times, SolveOptions<T> options)
        => StandInSolver.Solve(this, rhs, y0, times, options);

    /// <summary>Dormand &amp; Prince, "A family of embedded Runge-Kutta formulae", J. Comp. Appl. Math. 6 (1980);
    /// dense output coefficients of Hairer's DOPRI5 code (Hairer, Nørsett &amp; Wanner, Solving ODEs I, II.6).</summary>
    public static StandInRungeKutta Dopri5 { get; } = CreateDopri5();

    /// <summary>The classic fourth-order method; outputs between grid points by linear interpolation (torchdiffeq's default).</summary>
    public static StandInRungeKutta Rk4 { get; } = new()
    {
        MethodName = "rk4",
        MethodOrder = 4,
        A = [0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0.5, 0, 0, 0, 0, 1, 0],
        B = [1 / 6.0, 1 / 3.0, 1 / 3.0, 1 / 6.0],
        C = [0, 0.5, 0.5, 1],
        Interpolation = [1 / 6.0, 1 / 3.0, 1 / 3.0, 1 / 6.0],
        InterpolationDegree = 1,
    };

    private static StandInRungeKutta CreateDopri5()
    {
        double[] b = [35 / 384.0, 0, 500 / 1113.0, 125 / 192.0, -2187 / 6784.0, 11 / 84.0, 0];
        double[] bHat = [5179 / 57600.0, 0, 7571 / 16695.0, 393 / 640.0, -92097 / 339200.0, 187 / 2100.0, 1 / 40.0];
        double[] d = [-12715105075 / 11282082432.0, 0, 87487479700 / 32700410799.0, -10690763975 / 1880347072.0,
            701980252875 / 199316789632.0, -1453857185 / 822651844.0, 69997945 / 29380423.0];
        // Hairer's continuous extension y0 + θ(Δ + (1−θ)(hk1 − Δ + θ(Δ − hk7 − (hk1 − Δ) + (1−θ) h Σ dᵢkᵢ))), Δ = y1 − y0 = h Σ bᵢkᵢ,
        // expanded into polynomial weights per stage: coefficients of θ, θ², θ³, θ⁴.
        var w = new double[7 * 4];
        for (int i = 0; i < 7; i++)
        {
            double e1 = i == 0 ? 1 : 0, e7 = i == 6 ? 1 : 0;
            double c1 = e1 - b[i], c2 = 2 * b[i] - e7 - e1;
            w[4 * i] = b[i] + c1;
            w[4 * i + 1] = -c1 + c2 + d[i];
            w[4 * i + 2] = -c2 - 2 * d[i];
            w[4 * i + 3] = d[i];
        }
        return new()
        {
            MethodName = "dopri5",
            MethodOrder = 5,
            A =
            [
                0, 0, 0, 0, 0, 0, 0,
                1 / 5.0, 0, 0, 0, 0, 0, 0,
                3 / 40.0, 9 / 40.0, 0, 0, 0, 0, 0,
                44 / 45.0, -56 / 15.0, 32 / 9.0, 0, 0, 0, 0,
                19372 / 6561.0, -25360 / 2187.0, 64448 / 6561.0, -212 / 729.0, 0, 0, 0,
                9017 / 3168.0, -355 / 33.0, 46732 / 5247.0, 49 / 176.0, -5103 / 18656.0, 0, 0,
                35 / 384.0, 0, 500 / 1113.0, 125 / 192.0, -2187 / 6784.0, 11 / 84.0, 0,
            ],
            B = b,
            C = [0, 1 / 5.0, 3 / 10.0, 4 / 5.0, 8 / 9.0, 1, 1],
            ErrorWeights = b.Zip(bHat, (x, y) => x - y).ToArray(),
            Interpolation = w,
            InterpolationDegree = 4,
        };
    }
}

public static partial class Methods
{
    /// <summary>Dormand-Prince 5(4) with FSAL and Hairer's dense output (the default).</summary>
    public static OdeMethod Dopri5 => StandInRungeKutta.Dopri5;

    /// <summary>Classic fourth-order Runge-Kutta, fixed step (<see cref="SolveOptions{T}.FixedStep"/>).</summary>
    public static OdeMethod Rk4 => StandInRungeKutta.Rk4;
}
