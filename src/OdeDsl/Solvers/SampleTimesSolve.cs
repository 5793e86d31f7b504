using System.Numerics;

namespace OdeDsl;

/// <summary>The states of a per-sample-times solve, [Times.Count, StateSize] in the ragged order of <see cref="SampleTimes{T}"/>.</summary>
public sealed class SampleTimesSolution<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal SampleTimesSolution(SampleTimes<T> times, int stateSize, T[] states, SolverStats stats)
    {
        Times = times; StateSize = stateSize; States = states; Stats = stats;
    }

    public SampleTimes<T> Times { get; }
    public int StateSize { get; }

    /// <summary>[Times.Count, StateSize]: sample b's i-th output is row Times.Offset(b) + i.</summary>
    public T[] States { get; }

    /// <summary>Work of the one shared solve.</summary>
    public SolverStats Stats { get; }

    /// <summary>Sample b's state at its i-th time.</summary>
    public ReadOnlySpan<T> State(int sample, int index) => States.AsSpan((Times.Offset(sample) + index) * StateSize, StateSize);
}

public static partial class Ode
{
    /// <summary>
    /// Integrates a batch in which every sample has its own output times, in one call. The batch takes one shared step
    /// sequence from t₀ to the latest time of any sample (<see cref="SampleTimes{T}.End"/>), keeping each step's
    /// interpolant, and every sample's outputs are read from its own row of that interpolant. Output times never shorten
    /// steps, and no sample is given outputs at the other samples' times (torchdiffeq's union grid would output all
    /// Σₙ times for every row: batch × Σₙ states instead of Σₙ).
    /// </summary>
    /// <exception cref="ArgumentException">Invalid arguments; the solve must use <see cref="BatchStepMode.Shared"/> and <see cref="OutputMode.AtTimes"/>.</exception>
    /// <exception cref="OdeSolveException">The solve failed.</exception>
    public static SampleTimesSolution<T> SolveAtSampleTimes<TRhs, T>(TRhs rhs, ReadOnlySpan<T> y0, SampleTimes<T> times, SolveOptions<T>? options = null)
        where TRhs : IOdeRhs<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(times);
        options ??= new SolveOptions<T>();
        var (states, stats) = SolveKeepingInterpolant(rhs, y0, times, options, out _);
        return new SampleTimesSolution<T>(times, rhs.StateSize, states, stats);
    }

    /// <summary>
    /// The shared solve of a per-sample-times problem and the outputs read from its interpolant; also the state of every
    /// row at <see cref="SampleTimes{T}.End"/> (the adjoint starts there). With no time after t₀ nothing is integrated.
    /// </summary>
    internal static (T[] States, SolverStats Stats) SolveKeepingInterpolant<TRhs, T>(TRhs rhs, ReadOnlySpan<T> y0, SampleTimes<T> times,
        SolveOptions<T> options, out T[] endStates)
        where TRhs : IOdeRhs<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int S = rhs.StateSize;
        CheckSampleTimes(S, y0, times, options);
        var states = new T[times.Count * S];
        if (times.End == times.Start)
        {
            for (int o = 0; o < times.Count; o++) y0.Slice(times.SampleOf(o) * S, S).CopyTo(states.AsSpan(o * S, S));
            endStates = y0.ToArray();
            return (states, new SolverStats(0, 0, 0));
        }
        var solution = Solve(rhs, y0, [times.Start, times.End], AdjointShared.ForwardOptions(options, options.RecordSteps, keepDenseOutput: true));
        if (!solution.Succeeded)
            throw new OdeSolveException($"The shared solve of a per-sample-times batch failed ({string.Join(", ", solution.Status.Distinct())}); " +
                                        "loosen the tolerances, raise MaxSteps or check the dynamics.");
        var dense = solution.Dense!;
        for (int o = 0; o < times.Count; o++)
            dense.EvaluateSlice(times.All[o], times.SampleOf(o) * S, states.AsSpan(o * S, S));
        endStates = solution.States.AsSpan(y0.Length, y0.Length).ToArray();
        return (states, solution.Stats);
    }

    internal static void CheckSampleTimes<T>(int stateSize, ReadOnlySpan<T> y0, SampleTimes<T> times, SolveOptions<T> options)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(times);
        if (y0.Length != times.Batch * stateSize)
            throw new ArgumentException($"y0 has {y0.Length} elements; the times describe {times.Batch} samples of StateSize {stateSize} ({times.Batch * stateSize}).", nameof(y0));
        if (options.StepMode != BatchStepMode.Shared)
            throw new ArgumentException("Per-sample output times need BatchStepMode.Shared: the outputs are read from the batch's one interpolant.", nameof(options));
        if (options.Output != OutputMode.AtTimes)
            throw new ArgumentException("Per-sample output times need OutputMode.AtTimes.", nameof(options));
        if (options.Events is { Count: > 0 })
            throw new ArgumentException("Per-sample output times do not support events.", nameof(options));
    }
}
