using System.Numerics;

namespace OdeDsl;

/// <summary>What a backward pass returns: the loss gradients with respect to every input of the solve.</summary>
public sealed class OdeGradients<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[]? _times;
    private Func<T[]>? _computeTimes;

    internal OdeGradients(T[] initialState, T[] theta, T[] times, SolverStats forward, SolverStats backward)
        : this(initialState, theta, forward, backward) => _times = times;

    /// <summary>With dL/dtᵢ computed on first read (the adjoint modes: it costs f evaluations a training loop does not need).</summary>
    internal OdeGradients(T[] initialState, T[] theta, Func<T[]> computeTimes, SolverStats forward, SolverStats backward)
        : this(initialState, theta, forward, backward) => _computeTimes = computeTimes;

    private OdeGradients(T[] initialState, T[] theta, SolverStats forward, SolverStats backward)
    {
        InitialState = initialState;
        Theta = theta;
        Forward = forward;
        Backward = backward;
    }

    /// <summary>dL/dh(t₀), [batch, StateSize].</summary>
    public T[] InitialState { get; }

    /// <summary>dL/dθ, summed over the batch, laid out like θ.</summary>
    public T[] Theta { get; }

    /// <summary>
    /// dL/dtᵢ for every output time (the batch shares the times, so each is summed over rows).
    /// The adjoint modes compute it on first read: one f evaluation per output time i ≥ 1 whose dL/dh(tᵢ) is not zero,
    /// not counted in <see cref="Backward"/> (as torchdiffeq skips them when t needs no gradient).
    /// </summary>
    public T[] Times
    {
        get
        {
            if (_times is null)
            {
                _times = _computeTimes!();
                _computeTimes = null;
            }
            return _times;
        }
    }

    /// <summary>Work of the forward pass (for backprop, including the replay that records the stages).</summary>
    public SolverStats Forward { get; }

    /// <summary>
    /// Work of the backward pass. FunctionEvaluations counts evaluations of the backward right-hand side:
    /// augmented evaluations for the adjoint (each one f and one VJP), stage VJPs for backprop, and for the
    /// checkpointed adjoint the segment re-solves plus the augmented evaluations. Steps are the backward solves'.
    /// </summary>
    public SolverStats Backward { get; }
}
