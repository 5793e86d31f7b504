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

/// <summary>
/// The result of <see cref="Ode.Solve{TRhs, T}"/>.
/// States are laid out [time, batch, component] like torchdiffeq's output.
/// </summary>
public sealed class Solution<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // PLACEHOLDER shape, owned by the solvers work: members may be added; these names are the contract.
    public required int Batch { get; init; }
    public required int StateSize { get; init; }
    /// <summary>The requested output times (only the last one in <see cref="OutputMode.FinalOnly"/>).</summary>
    public required T[] Times { get; init; }
    /// <summary>[Times.Length, Batch, StateSize], row-major.</summary>
    public required T[] States { get; init; }
    public required SolveStatus[] Status { get; init; }
    /// <summary>Per row: how many output times were reached before the row stopped.</summary>
    public required int[] OutputsReached { get; init; }
    /// <summary>Per row: the time where integration ended (the last output time on success, the event time, or where it failed).</summary>
    public required T[] FinalTime { get; init; }
    /// <summary>Totals over the batch: in shared mode one evaluation is one batched call of f.</summary>
    public required SolverStats Stats { get; init; }

    public ReadOnlySpan<T> State(int timeIndex, int row) =>
        States.AsSpan((timeIndex * Batch + row) * StateSize, StateSize);

    /// <summary>The accepted steps when <see cref="SolveOptions{T}.RecordSteps"/> was set (shared mode), else null.</summary>
    public StepRecord<T>? Steps { get; init; }

    /// <summary>Kept when <see cref="SolveOptions{T}.KeepDenseOutput"/> was set.</summary>
    internal DenseOutput<T>? Dense { get; init; }

    /// <summary>The solution at any t in the solved span, [Batch, StateSize], from the kept dense output.</summary>
    public void Interpolate(T t, Span<T> y)
    {
        if (Dense is null) throw new InvalidOperationException("Interpolate needs a solve with SolveOptions.KeepDenseOutput = true.");
        if (y.Length != Batch * StateSize) throw new ArgumentException($"y has {y.Length} elements, expected Batch × StateSize = {Batch * StateSize}.", nameof(y));
        Dense.Evaluate(t, y);
    }

    public bool Succeeded => Array.TrueForAll(Status, s => s is SolveStatus.Success or SolveStatus.EventFired);
}
