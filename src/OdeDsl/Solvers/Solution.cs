using System.Numerics;

namespace OdeDsl;

/// <summary>Outcome of one batch row.</summary>
public enum SolveStatus
{
    Success,
    MaxStepsReached,
    StepSizeUnderflow,
    NonFiniteState,
    EventFired,
}

/// <summary>Counts of work done by a solve (the paper's Figure 3 reads these).</summary>
public sealed record SolverStats(long FunctionEvaluations, long AcceptedSteps, long RejectedSteps);

/// <summary>One accepted step: it started at <see cref="Start"/> and had signed size <see cref="Size"/>.</summary>
public readonly record struct StepRecord<T>(T Start, T Size) where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>
/// The result of <see cref="Ode.Solve{TRhs, T}"/>.
/// States are laid out [time, batch, component] like torchdiffeq's output.
/// Output times a row did not reach (it failed or an event stopped it first) hold NaN.
/// </summary>
public sealed class Solution<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public required int Batch { get; init; }
    public required int StateSize { get; init; }
    /// <summary>The requested output times (only the last one in <see cref="OutputMode.FinalOnly"/>).</summary>
    public required T[] Times { get; init; }
    /// <summary>[Times.Length, Batch, StateSize], row-major. In FinalOnly mode the single entry holds each row's state where it stopped.</summary>
    public required T[] States { get; init; }
    public required SolveStatus[] Status { get; init; }
    /// <summary>Per row: how many output times were reached before the row stopped.</summary>
    public required int[] OutputsReached { get; init; }
    /// <summary>Per row: the time where integration ended (the last output time on success, the event time, or where it failed).</summary>
    public required T[] FinalTime { get; init; }
    /// <summary>Totals: FunctionEvaluations counts batched calls of f; accepted/rejected are the shared step counts in shared
    /// mode and sums over rows in per-sample mode.</summary>
    public required SolverStats Stats { get; init; }

    /// <summary>[Batch, StateSize]: each row's state at <see cref="FinalTime"/> (at the event for EventFired).</summary>
    public T[] FinalStates { get; init; } = [];
    /// <summary>Per row: index into SolveOptions.Events of the event that stopped it, or −1.</summary>
    public int[] EventIndex { get; init; } = [];
    /// <summary>Per row: the last step size attempted (signed), for diagnostics.</summary>
    public T[] LastStepSize { get; init; } = [];
    /// <summary>Per-row work counts (a row counts evaluations only while it was still integrating).</summary>
    public SolverStats[] RowStats { get; init; } = [];
    /// <summary>With <see cref="SolveOptions{T}.RecordSteps"/>: the accepted steps in order (shared mode); otherwise null.</summary>
    public IReadOnlyList<StepRecord<T>>? Steps { get; init; }
    /// <summary>With <see cref="SolveOptions{T}.KeepDenseOutput"/>: the piecewise interpolant over all accepted steps.</summary>
    public DenseOutput<T>? Dense { get; init; }

    public ReadOnlySpan<T> State(int timeIndex, int row) =>
        States.AsSpan((timeIndex * Batch + row) * StateSize, StateSize);

    /// <summary>Row <paramref name="row"/>'s state at <see cref="FinalTime"/>.</summary>
    public ReadOnlySpan<T> FinalState(int row) => FinalStates.AsSpan(row * StateSize, StateSize);

    public bool Succeeded => Array.TrueForAll(Status, s => s is SolveStatus.Success or SolveStatus.EventFired);

    /// <summary>All rows ([Batch, StateSize]) at time t inside the integrated interval, from the kept dense output.</summary>
    public void Interpolate(T t, Span<T> y)
    {
        if (Dense is null) throw new InvalidOperationException("Interpolate needs SolveOptions.KeepDenseOutput = true.");
        Dense.Evaluate(t, y);
    }
}
