using System.Numerics;

namespace OdeDsl;

public static partial class Ode
{
    /// <summary>
    /// Integrates dy/dt = f(t, y) for a batch of initial values <paramref name="y0"/> ([batch, StateSize])
    /// from times[0] through every output time (strictly increasing or strictly decreasing).
    /// </summary>
    /// <exception cref="ArgumentException">Invalid arguments (see <see cref="Validate{T}"/>).</exception>
    /// <exception cref="OdeSolveException">A row failed and <see cref="SolveOptions{T}.ThrowOnFailure"/> is set.</exception>
    public static Solution<T> Solve<TRhs, T>(TRhs rhs, ReadOnlySpan<T> y0, ReadOnlySpan<T> times, SolveOptions<T>? options = null)
        where TRhs : IOdeRhs<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        options ??= new SolveOptions<T>();
        Validate(rhs.StateSize, y0, times, options);
        var solution = options.Method.Run(rhs, y0, times, options);
        if (options.ThrowOnFailure) ThrowIfFailed(solution, options);
        return solution;
    }

    /// <summary>Checks the arguments of a solve; every problem is reported as an <see cref="ArgumentException"/>.</summary>
    public static void Validate<T>(int stateSize, ReadOnlySpan<T> y0, ReadOnlySpan<T> times, SolveOptions<T> o)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(o);
        if (o.Method is null) throw new ArgumentException("SolveOptions.Method is null.", nameof(o));
        if (stateSize <= 0) throw new ArgumentException($"The right-hand side reports StateSize {stateSize}; it must be positive.", nameof(stateSize));
        if (y0.Length == 0 || y0.Length % stateSize != 0)
            throw new ArgumentException($"y0 has {y0.Length} elements, which is not a positive multiple of StateSize {stateSize} ([batch, StateSize] row-major).", nameof(y0));
        if (times.Length < 2) throw new ArgumentException($"times needs at least 2 entries (start and end); it has {times.Length}.", nameof(times));
        foreach (var v in y0)
            if (!T.IsFinite(v)) throw new ArgumentException("y0 contains a non-finite value.", nameof(y0));
        int dir = times[1] > times[0] ? 1 : -1;
        for (int i = 0; i < times.Length; i++)
        {
            if (!T.IsFinite(times[i])) throw new ArgumentException($"times[{i}] is not finite.", nameof(times));
            if (i > 0 && (dir > 0 ? times[i] <= times[i - 1] : times[i] >= times[i - 1]))
                throw new ArgumentException(
                    $"times must be strictly monotone (all increasing or all decreasing, no duplicates); times[{i - 1}] = {times[i - 1]}, times[{i}] = {times[i]}.", nameof(times));
        }
        CheckTol(o.RelTol, "RelTol"); CheckTol(o.AbsTol, "AbsTol");
        CheckPerComponent(o.RelTolPerComponent, "RelTolPerComponent", stateSize);
        CheckPerComponent(o.AbsTolPerComponent, "AbsTolPerComponent", stateSize);
        if (o.Method.IsAdaptive && o.RelTol == T.Zero && o.AbsTol == T.Zero && o.RelTolPerComponent is null && o.AbsTolPerComponent is null)
            throw new ArgumentException("RelTol and AbsTol are both zero; an adaptive method needs a positive tolerance.", nameof(o));
        if (!o.Method.IsAdaptive && o.FixedStep is null)
            throw new ArgumentException($"Method {o.Method.Name} is a fixed-step method: set SolveOptions.FixedStep (torchdiffeq's step_size).", nameof(o));
        if (o.FixedStep is { } fs && !(fs > T.Zero && T.IsFinite(fs))) throw new ArgumentException($"FixedStep must be positive and finite; it is {fs}.", nameof(o));
        if (o.FirstStep is { } f0 && !(f0 > T.Zero && T.IsFinite(f0))) throw new ArgumentException($"FirstStep must be positive and finite; it is {f0}.", nameof(o));
        if (!(o.MinStep >= T.Zero)) throw new ArgumentException($"MinStep must be ≥ 0; it is {o.MinStep}.", nameof(o));
        if (!(o.MaxStep > T.Zero)) throw new ArgumentException($"MaxStep must be positive; it is {o.MaxStep}.", nameof(o));
        if (o.MinStep > o.MaxStep) throw new ArgumentException($"MinStep {o.MinStep} exceeds MaxStep {o.MaxStep}.", nameof(o));
        if (o.MaxSteps <= 0) throw new ArgumentException($"MaxSteps must be positive; it is {o.MaxSteps}.", nameof(o));
        if (!(o.EventTolerance > T.Zero)) throw new ArgumentException($"EventTolerance must be positive; it is {o.EventTolerance}.", nameof(o));
        if (o.StepMode == BatchStepMode.PerSample && (o.RecordSteps || o.KeepDenseOutput))
            throw new ArgumentException("RecordSteps and KeepDenseOutput need BatchStepMode.Shared (one step sequence for the batch).", nameof(o));
        if (o.Events is not null)
            for (int i = 0; i < o.Events.Count; i++)
                if (o.Events[i] is null) throw new ArgumentException($"Events[{i}] is null.", nameof(o));

        static void CheckTol(T v, string name)
        {
            if (!(v >= T.Zero) || !T.IsFinite(v)) throw new ArgumentException($"{name} must be finite and ≥ 0; it is {v}.", name);
        }
        static void CheckPerComponent(T[]? v, string name, int n)
        {
            if (v is null) return;
            if (v.Length != n) throw new ArgumentException($"{name} has {v.Length} entries; it needs one per state component ({n}).", name);
            foreach (var x in v) CheckTol(x, name);
        }
    }

    private static void ThrowIfFailed<T>(Solution<T> s, SolveOptions<T> o) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int b = 0; b < s.Batch; b++)
        {
            string? advice = s.Status[b] switch
            {
                SolveStatus.MaxStepsReached => $"raise SolveOptions.MaxSteps (now {o.MaxSteps}), loosen the tolerances, or check for stiffness",
                SolveStatus.StepSizeUnderflow => "the problem may be stiff or singular here; loosen the tolerances, lower MinStep, or shorten the interval",
                SolveStatus.NonFiniteState => "f produced NaN or ∞; check the dynamics and parameters, or lower FirstStep/MaxStep",
                _ => null,
            };
            if (advice is null) continue;
            T h = s.LastStepSize.Length > b ? s.LastStepSize[b] : T.NaN;
            throw new OdeSolveException($"ODE solve with {o.Method.Name} failed for batch row {b}: {s.Status[b]} at t = {s.FinalTime[b]} with step size {h}; {advice}.");
        }
    }
}
