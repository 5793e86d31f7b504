using System.Numerics;

namespace OdeDsl;

/// <summary>What a backward pass returns: the loss gradients with respect to every input of the solve.</summary>
public sealed class OdeGradients<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal OdeGradients(T[] initialState, T[] theta, T[] times, SolverStats forward, SolverStats backward)
    {
        InitialState = initialState;
        Theta = theta;
        Times = times;
        Forward = forward;
        Backward = backward;
    }

    /// <summary>dL/dh(t₀), [batch, StateSize].</summary>
    public T[] InitialState { get; }

    /// <summary>dL/dθ, summed over the batch, laid out like θ.</summary>
    public T[] Theta { get; }

    /// <summary>dL/dtᵢ for every output time (the batch shares the times, so each is summed over rows).</summary>
    public T[] Times { get; }

    /// <summary>Work of the forward pass (for backprop, including the replay that records the stages).</summary>
    public SolverStats Forward { get; }

    /// <summary>
    /// Work of the backward pass. FunctionEvaluations counts evaluations of the backward right-hand side:
    /// augmented evaluations for the adjoint (each one f and one VJP), stage VJPs for backprop, and for the
    /// checkpointed adjoint the segment re-solves plus the augmented evaluations.
    /// </summary>
    public SolverStats Backward { get; }
}
