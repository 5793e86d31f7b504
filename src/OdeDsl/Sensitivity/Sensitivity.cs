using System.Numerics;

namespace OdeDsl;

/// <summary>
/// How <see cref="Ode.Forward{TDynamics, T}"/> differentiates a solve. Selected per call:
/// <see cref="Backprop"/> (discretise-then-optimise), <see cref="Adjoint"/> (optimise-then-discretise,
/// Chen et al. 2018, Algorithm 1) or <see cref="CheckpointedAdjoint"/>. See docs/gradients.md for the trade-offs.
/// </summary>
public abstract class Sensitivity
{
    private protected Sensitivity() { }

    /// <summary>
    /// Backpropagation through the solver's operations: the exact gradient of the numerical solution with the
    /// accepted step sequence held fixed. Memory grows linearly with the number of steps.
    /// </summary>
    public static Sensitivity Backprop { get; } = new BackpropSensitivity(alwaysReplay: false);

    /// <summary>
    /// The adjoint method: the augmented system [h, a, a_θ, a_t] is solved backwards in time,
    /// re-integrating h from the final state. Memory does not grow with the number of steps.
    /// </summary>
    public static Sensitivity Adjoint(AdjointOptions? options = null) => new AdjointSensitivity(options ?? new AdjointOptions());

    /// <summary>
    /// The adjoint method with the forward state stored at <paramref name="checkpoints"/> equally spaced times:
    /// each segment is re-solved forward with dense output and [a, a_θ, a_t] is integrated back through it reading
    /// h(t) from that interpolant, so h is never integrated backwards (for dynamics that are not reversible).
    /// Memory: the checkpoints plus one segment's dense output.
    /// </summary>
    public static Sensitivity CheckpointedAdjoint(int checkpoints, AdjointOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(checkpoints, 1);
        return new CheckpointedAdjointSensitivity(checkpoints, options ?? new AdjointOptions());
    }

    public abstract override string ToString();

    /// <summary>Solves forward and keeps what <see cref="Backward{TDynamics, T}"/> needs.</summary>
    internal abstract OdeForward<TDynamics, T> Forward<TDynamics, T>(ForwardProblem<T> problem)
        where TDynamics : IOdeDynamics<TDynamics>
        where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>Runs the backward pass for loss gradients <paramref name="dLdStates"/> ([nTimes, batch, StateSize]).</summary>
    internal abstract OdeGradients<T> Backward<TDynamics, T>(OdeForward<TDynamics, T> forward, ReadOnlySpan<T> dLdStates)
        where TDynamics : IOdeDynamics<TDynamics>
        where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>Gives back what the forward record holds for reuse (<see cref="OdeForward{TDynamics, T}.Recycle"/>); by default nothing.</summary>
    internal virtual void Recycle<TDynamics, T>(OdeForward<TDynamics, T> forward)
        where TDynamics : IOdeDynamics<TDynamics>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
    }
}

/// <summary>Options of the backward solve of the adjoint modes.</summary>
public sealed class AdjointOptions
{
    /// <summary>Relative tolerance of the backward solve; null means the forward's.</summary>
    public double? RelTol { get; init; }

    /// <summary>Absolute tolerance of the backward solve; null means the forward's.</summary>
    public double? AbsTol { get; init; }

    /// <summary>
    /// Error control ignores the a_θ and a_t channels (Kidger, Chen &amp; Lyons, "Hey, that's not an ODE", ICML 2021):
    /// they are integrals that feed nothing back into the system, so their error need not shorten steps.
    /// </summary>
    public bool Seminorm { get; init; }

    /// <summary>Method of the backward solve; null means the forward's.</summary>
    public OdeMethod? Method { get; init; }

    /// <summary>
    /// Lengths of consecutive groups of one state row's components (e.g. [d, 1] for a CNF's [z, Δlog p]); null means one
    /// group. h and a then enter the error norm as one RMS channel per group over the batch, as torchdiffeq's mixed norm
    /// treats a tuple state (the default adjoint norm applies its state norm to y and to adj_y).
    /// </summary>
    public int[]? StateGroups { get; init; }

    /// <summary>
    /// Whether a_t's error enters the norm (the default). false: it is still integrated (dL/dtᵢ stays exact) but does not
    /// shorten steps, as in torchdiffeq when the times need no gradient (its a_t is then zero) — for step-for-step parity
    /// on time-dependent fields.
    /// </summary>
    public bool TimeChannelInNorm { get; init; } = true;
}
