namespace OdeDsl.Gpu;

/// <summary>
/// The result of an ensemble solve, laid out as the CPU runtime's <see cref="Solution{T}"/>: States is [time, trajectory,
/// state] (NaN at outputs a trajectory never reached), FinalStates [trajectory, state] (where each stopped), and per
/// trajectory its result code, final time, last step and counts. Evaluations counts the trajectory's own calls of f
/// (the CPU's per-row count in a batch also includes calls made because another row accepted a step; run alone, they agree).
/// </summary>
public sealed class EnsembleSolution<T> where T : unmanaged
{
    public required int Trajectories { get; init; }
    public required int StateSize { get; init; }
    public required T[] Times { get; init; }
    public required T[] States { get; init; }
    public required T[] FinalStates { get; init; }
    public required T[] FinalTime { get; init; }
    public required T[] LastStepSize { get; init; }
    public required SolveStatus[] Status { get; init; }
    public required long[] Evaluations { get; init; }
    public required long[] AcceptedSteps { get; init; }
    public required long[] RejectedSteps { get; init; }

    /// <summary>Trajectory i's state at output time index ti.</summary>
    public ReadOnlySpan<T> At(int ti, int i) => States.AsSpan((ti * Trajectories + i) * StateSize, StateSize);
    public bool AllSucceeded => Array.TrueForAll(Status, s => s == SolveStatus.Success);
}
