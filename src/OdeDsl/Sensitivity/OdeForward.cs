using System.Numerics;

namespace OdeDsl;

/// <summary>The inputs of a differentiable solve, copied so that later edits of the caller's buffers cannot skew the gradient.</summary>
internal sealed class ForwardProblem<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public required T[] InitialState { get; init; }
    public required T[] Times { get; init; }
    public required T[] Theta { get; init; }
    public required int Batch { get; init; }
    public required SolveOptions<T> Options { get; init; }
}

/// <summary>
/// A forward solve that can be differentiated: holds the <see cref="Solution"/> and whatever the chosen
/// <see cref="Sensitivity"/> needs for <see cref="Backward"/> (the step tape for backprop, nothing more than the
/// solution for the adjoint, the checkpoints for the checkpointed adjoint).
/// </summary>
public sealed class OdeForward<TDynamics, T>
    where TDynamics : IOdeDynamics<TDynamics>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    internal OdeForward(Sensitivity sensitivity, ForwardProblem<T> problem, Solution<T> solution, SolverStats forwardStats, object? record)
    {
        Sensitivity = sensitivity;
        Problem = problem;
        Solution = solution;
        ForwardStats = forwardStats;
        Record = record;
    }

    public Sensitivity Sensitivity { get; }

    /// <summary>The states at the output times, [nTimes, batch, StateSize].</summary>
    public Solution<T> Solution { get; }

    /// <summary>All work the forward pass did (for backprop this includes recording the stages).</summary>
    public SolverStats ForwardStats { get; }

    internal ForwardProblem<T> Problem { get; }

    /// <summary>Mode-specific record (backprop's tape, the checkpoint states).</summary>
    internal object? Record { get; }

    /// <summary>
    /// Gradients of a loss L given dL/dh(tᵢ) at every output time, [nTimes, batch, StateSize]
    /// (zeros where the loss does not read a time). May be called more than once.
    /// </summary>
    public OdeGradients<T> Backward(ReadOnlySpan<T> dLdStates)
    {
        int expected = Problem.Times.Length * Problem.Batch * TDynamics.StateSize;
        if (dLdStates.Length != expected)
            throw new ArgumentException(
                $"dL/dStates has {dLdStates.Length} elements; expected nTimes × batch × StateSize = {Problem.Times.Length} × {Problem.Batch} × {TDynamics.StateSize} = {expected}.",
                nameof(dLdStates));
        return Sensitivity.Backward(this, dLdStates);
    }

    /// <summary>
    /// For an owner that holds this forward solve alone and is done with it (a training step after its Backward): its
    /// buffers go to the pools the next solve draws from (backprop's kept activations and step stages). Backward and the
    /// solution's dense output can no longer be used.
    /// </summary>
    internal void Recycle() => Sensitivity.Recycle(this);
}
