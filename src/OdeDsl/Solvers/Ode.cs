using System.Numerics;

namespace OdeDsl;

// PLACEHOLDER written with the solution skeleton so every area compiles against the contract.
// The solvers work replaces the bodies (and may move these types into their own files).

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
        where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>Every built-in method, by the names torchdiffeq uses.</summary>
public static partial class Methods
{
}

/// <summary>Chooses the next step size from the error ratio.</summary>
public abstract class StepSizeController
{
}

/// <summary>A solve failed and <see cref="SolveOptions{T}.ThrowOnFailure"/> asked for an exception.</summary>
public sealed class OdeSolveException(string message) : Exception(message);

public static partial class Ode
{
    /// <summary>
    /// Integrates dy/dt = f(t, y) for a batch of initial values <paramref name="y0"/> ([batch, StateSize])
    /// from times[0] through every output time (increasing or decreasing).
    /// </summary>
    public static Solution<T> Solve<TRhs, T>(TRhs rhs, ReadOnlySpan<T> y0, ReadOnlySpan<T> times, SolveOptions<T>? options = null)
        where TRhs : IOdeRhs<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // STAND-IN dispatch until the solvers branch lands (see Solvers/StandIn).
        options ??= new SolveOptions<T>();
        if (times.Length > 1 && times[^1] == times[0])
            throw new ArgumentException("The output times span an empty interval.", nameof(times));
        return options.Method.Run(rhs, y0, times, options);
    }
}
