namespace OdeDsl;

/// <summary>A solver: an explicit Runge-Kutta tableau or an Adams method.</summary>
public abstract class OdeMethod
{
    public abstract string Name { get; }
    public abstract int Order { get; }
    public abstract bool IsAdaptive { get; }
    public override string ToString() => Name;

    /// <summary>Runs this method on validated arguments; <see cref="Ode.Solve{TRhs, T}"/> is the public entry point.
    /// A generic virtual method: each method family (Runge-Kutta, Adams) owns its loop, specialised per TRhs.</summary>
    internal abstract Solution<T> Run<TRhs, T>(TRhs rhs, ReadOnlySpan<T> y0, ReadOnlySpan<T> times, SolveOptions<T> options)
        where TRhs : IOdeRhs<T>
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>;
}

/// <summary>An explicit Runge-Kutta method given by its tableau.</summary>
public sealed class RungeKuttaMethod(ButcherTableau tableau) : OdeMethod
{
    public ButcherTableau Tableau { get; } = tableau;
    public override string Name => Tableau.Name;
    public override int Order => Tableau.Order;
    public override bool IsAdaptive => Tableau.IsAdaptive;

    internal override Solution<T> Run<TRhs, T>(TRhs rhs, ReadOnlySpan<T> y0, ReadOnlySpan<T> times, SolveOptions<T> options)
        => RungeKuttaSolver<TRhs, T>.Solve(Tableau, rhs, y0, times, options);
}

/// <summary>Every built-in method, by the names torchdiffeq uses where it has them.</summary>
public static partial class Methods
{
    public static RungeKuttaMethod Euler { get; } = new(Tableaus.Euler.Tableau);
    public static RungeKuttaMethod Midpoint { get; } = new(Tableaus.Midpoint.Tableau);
    public static RungeKuttaMethod Heun { get; } = new(Tableaus.Heun.Tableau);
    public static RungeKuttaMethod Heun3 { get; } = new(Tableaus.Heun.Third);
    public static RungeKuttaMethod AdaptiveHeun { get; } = new(Tableaus.Heun.Adaptive);
    public static RungeKuttaMethod Rk4 { get; } = new(Tableaus.Rk4.Classic);
    public static RungeKuttaMethod Rk4ThreeEighths { get; } = new(Tableaus.Rk4.ThreeEighths);
    public static RungeKuttaMethod Bosh3 { get; } = new(Tableaus.Bosh3.Tableau);
    public static RungeKuttaMethod Fehlberg2 { get; } = new(Tableaus.Fehlberg2.Tableau);
    public static RungeKuttaMethod Dopri5 { get; } = new(Tableaus.Dopri5.Tableau);
    public static RungeKuttaMethod Tsit5 { get; } = new(Tableaus.Tsit5.Tableau);
    public static RungeKuttaMethod Dopri8 { get; } = new(Tableaus.Dopri8.Tableau);

    /// <summary>All built-in Runge-Kutta methods.</summary>
    public static IReadOnlyList<RungeKuttaMethod> RungeKutta { get; } =
        [Euler, Midpoint, Heun, Heun3, AdaptiveHeun, Rk4, Rk4ThreeEighths, Bosh3, Fehlberg2, Dopri5, Tsit5, Dopri8];

    /// <summary>The adaptive Runge-Kutta methods (what the DETEST benchmark runs with --method all).</summary>
    public static IReadOnlyList<OdeMethod> AllAdaptive => [.. RungeKutta.Where(m => m.IsAdaptive), .. ExtraAdaptive];

    /// <summary>Looks a method up by name (case-insensitive): euler, midpoint, heun, heun3, adaptive_heun, rk4, rk4_38,
    /// bosh3, fehlberg2, dopri5, tsit5, dopri8, plus the Adams family's names.</summary>
    public static OdeMethod ByName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var m in RungeKutta.Concat(ExtraMethods))
            if (string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase)) return m;
        throw new ArgumentException(
            $"Unknown ODE method '{name}'. Known: {string.Join(", ", RungeKutta.Concat(ExtraMethods).Select(m => m.Name))}.", nameof(name));
    }

    /// <summary>Methods of other families (the Adams family), so ByName and AllAdaptive find them. Built on first use,
    /// after type initialisation, because field initialisers in different files of a partial class run in no defined order.</summary>
    private static List<OdeMethod> ExtraMethods => extraMethods ??= CollectOtherFamilies();
    private static List<OdeMethod>? extraMethods;
    private static IEnumerable<OdeMethod> ExtraAdaptive => ExtraMethods.Where(m => m.IsAdaptive);

    private static List<OdeMethod> CollectOtherFamilies()
    {
        var list = new List<OdeMethod>();
        AddOtherFamilies(list);
        return list;
    }

    /// <summary>Implemented in another family's part of this partial class (e.g. Solvers/Adams) to list its methods.</summary>
    static partial void AddOtherFamilies(List<OdeMethod> methods);
}

/// <summary>A solve failed and <see cref="SolveOptions{T}.ThrowOnFailure"/> asked for an exception.</summary>
public sealed class OdeSolveException(string message) : Exception(message);
