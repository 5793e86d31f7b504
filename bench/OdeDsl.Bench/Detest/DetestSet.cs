namespace OdeDsl.Bench.Detest;

/// <summary>Result of one DETEST solve, as the detest command reports it.</summary>
public sealed record DetestRun(double[] Y, long Nfe, long Steps, long Rejected, double Seconds, bool Succeeded);

/// <summary>One DETEST problem: its name, size, initial value, and typed entry points (closed over the struct type).</summary>
public sealed class DetestProblem
{
    public const double TEnd = 20.0;

    public required string Name { get; init; }
    public required int Size { get; init; }
    public required double[] InitialValue { get; init; }
    /// <summary>Solves 0 → 20 with a library method through <see cref="Ode.Solve{TRhs, T}"/> (the struct is a type argument).</summary>
    public required Func<SolveOptions<double>, DetestRun> Solve { get; init; }
    /// <summary>Gragg–Bulirsch–Stoer reference solution at t = 20 with macro step H.</summary>
    public required Func<double, double[]> Extrapolated { get; init; }
    /// <summary>The closed-form solution at t = 20, where one exists.</summary>
    public Func<double[]>? Exact { get; init; }

    internal static DetestProblem Of<P>(Func<double[]>? exact = null) where P : struct, IOdeRhs<double>, IDetestRow => new()
    {
        Name = typeof(P).Name,
        Size = P.Size,
        InitialValue = P.InitialValue,
        Solve = options => SolveWith<P>(options),
        Extrapolated = h => ExtrapolationIntegrator.Integrate<P>(P.InitialValue, 0.0, TEnd, h),
        Exact = exact,
    };

    private static DetestRun SolveWith<P>(SolveOptions<double> options) where P : struct, IOdeRhs<double>, IDetestRow
    {
        double[] times = [0.0, TEnd];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var solution = Ode.Solve(default(P), P.InitialValue, times, options);
        double seconds = clock.Elapsed.TotalSeconds;
        var last = solution.Times.Length - 1;
        return new DetestRun(solution.State(last, 0).ToArray(), solution.Stats.FunctionEvaluations,
            solution.Stats.AcceptedSteps, solution.Stats.RejectedSteps, seconds, solution.Succeeded);
    }
}

/// <summary>The 25 problems in the paper's order.</summary>
public static class DetestSet
{
    public static IReadOnlyList<DetestProblem> All { get; } =
    [
        DetestProblem.Of<A1>(() => [Math.Exp(-20.0)]),
        DetestProblem.Of<A2>(() => [1.0 / Math.Sqrt(21.0)]),
        DetestProblem.Of<A3>(() => [Math.Exp(Math.Sin(20.0))]),
        DetestProblem.Of<A4>(() => [20.0 / (1.0 + 19.0 * Math.Exp(-5.0))]),
        DetestProblem.Of<A5>(),
        DetestProblem.Of<B1>(),
        DetestProblem.Of<B2>(),
        DetestProblem.Of<B3>(),
        DetestProblem.Of<B4>(),
        DetestProblem.Of<B5>(),
        DetestProblem.Of<C1>(),
        DetestProblem.Of<C2>(),
        DetestProblem.Of<C3>(),
        DetestProblem.Of<C4>(),
        DetestProblem.Of<C5>(),
        DetestProblem.Of<D1>(() => Orbit.Exact(0.1, 20.0)),
        DetestProblem.Of<D2>(() => Orbit.Exact(0.3, 20.0)),
        DetestProblem.Of<D3>(() => Orbit.Exact(0.5, 20.0)),
        DetestProblem.Of<D4>(() => Orbit.Exact(0.7, 20.0)),
        DetestProblem.Of<D5>(() => Orbit.Exact(0.9, 20.0)),
        DetestProblem.Of<E1>(() => E1.Exact(20.0)),
        DetestProblem.Of<E2>(),
        DetestProblem.Of<E3>(),
        DetestProblem.Of<E4>(),
        DetestProblem.Of<E5>(),
    ];
}
