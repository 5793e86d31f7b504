using System.Numerics;

namespace OdeDsl;

/// <summary>How the rows of a batch share step sizes.</summary>
public enum BatchStepMode
{
    /// <summary>One step size for the whole batch, error norm taken over all rows (torchdiffeq's behaviour).</summary>
    Shared,
    /// <summary>Every row has its own t, step size and accept/reject decision (torchode's behaviour).</summary>
    PerSample,
}

/// <summary>Which states a solve returns.</summary>
public enum OutputMode
{
    /// <summary>The state at every requested output time (from dense output; output times never shorten steps).</summary>
    AtTimes,
    /// <summary>Only the state at the last requested time.</summary>
    FinalOnly,
}

/// <summary>Error norm over one row's scaled error e_i / (atol_i + rtol_i·max(|y_i|, |ŷ_i|)).</summary>
public delegate T ErrorNorm<T>(ReadOnlySpan<T> scaledError) where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>Event function g(t, y) for one sample; the solve stops where it crosses zero.</summary>
public delegate T EventFunction<T>(T t, ReadOnlySpan<T> y) where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>Options of <see cref="Ode.Solve{TRhs, T}"/>. Defaults follow torchdiffeq (dopri5, rtol 1e-7, atol 1e-9).</summary>
public sealed class SolveOptions<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public OdeMethod Method { get; init; } = Methods.Dopri5;
    public T RelTol { get; init; } = T.CreateChecked(1e-7);
    public T AbsTol { get; init; } = T.CreateChecked(1e-9);
    /// <summary>Per-component tolerances (length StateSize); override the scalars when set.</summary>
    public T[]? RelTolPerComponent { get; init; }
    public T[]? AbsTolPerComponent { get; init; }
    /// <summary>Norm of the scaled error; null means RMS. The adjoint passes a seminorm here.</summary>
    public ErrorNorm<T>? Norm { get; init; }
    /// <summary>Step-size controller; null means the library default.</summary>
    public StepSizeController? Controller { get; init; }
    /// <summary>First step; null selects it (Hairer, Nørsett &amp; Wanner, Solving ODEs I, II.4).</summary>
    public T? FirstStep { get; init; }
    /// <summary>Step size of fixed-step methods (also caps adaptive steps when set with <see cref="MaxStep"/>).</summary>
    public T? FixedStep { get; init; }
    public T MinStep { get; init; } = T.Zero;
    public T MaxStep { get; init; } = T.PositiveInfinity;
    public int MaxSteps { get; init; } = 1_000_000;
    public BatchStepMode StepMode { get; init; } = BatchStepMode.Shared;
    public OutputMode Output { get; init; } = OutputMode.AtTimes;
    /// <summary>Stop when any of these crosses zero; located on the dense output to <see cref="EventTolerance"/>.</summary>
    public IReadOnlyList<EventFunction<T>>? Events { get; init; }
    public T EventTolerance { get; init; } = T.CreateChecked(1e-10);
    /// <summary>Turn any failed row into an <see cref="OdeSolveException"/> instead of a result code.</summary>
    public bool ThrowOnFailure { get; init; }
    /// <summary>Record accepted steps (shared mode) so backprop can replay the exact step sequence.</summary>
    public bool RecordSteps { get; init; }
    /// <summary>Keep every step's interpolant so the solution can be evaluated at any t (<see cref="Solution{T}.Interpolate"/>).</summary>
    public bool KeepDenseOutput { get; init; }
    /// <summary>Let the last step run past the final time as torchdiffeq does (the state at t1 then comes from the
    /// interpolant). Off by default, so f is never evaluated outside [t0, t1]; turn it on for step-for-step parity with
    /// torchdiffeq, whose step sequence differs from ours only in the final step(s).</summary>
    public bool OvershootFinalTime { get; init; }
}
