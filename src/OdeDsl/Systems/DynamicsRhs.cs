using System.Numerics;

namespace OdeDsl;

/// <summary>
/// Binds a generated system to a parameter vector so that solvers can integrate it:
/// the bridge from <see cref="IOdeDynamics{TSelf}"/> to <see cref="IOdeRhs{T}"/>.
/// Holds its own workspace, sized for <c>maxBatch</c> rows; nothing is allocated per evaluation.
/// </summary>
public readonly struct DynamicsRhs<TDynamics, T> : IOdeRhs<T>
    where TDynamics : IOdeDynamics<TDynamics>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _theta;
    private readonly T[] _workspace;

    public DynamicsRhs(T[] theta, int maxBatch)
    {
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        if (theta.Length != TDynamics.ParameterCount)
            throw new ArgumentException(
                $"{typeof(TDynamics).Name} has {TDynamics.ParameterCount} parameters but θ has {theta.Length} elements.", nameof(theta));
        _theta = theta;
        _workspace = new T[TDynamics.WorkspaceLength(maxBatch)];
        MaxBatch = maxBatch;
    }

    public int MaxBatch { get; }
    public int StateSize => TDynamics.StateSize;
    public T[] Theta => _theta;

    public void Evaluate(ReadOnlySpan<T> t, ReadOnlySpan<T> y, Span<T> dy, int batch)
    {
        if (batch > MaxBatch)
            throw new ArgumentOutOfRangeException(nameof(batch), $"batch {batch} exceeds the {MaxBatch} rows this right-hand side was created for.");
        TDynamics.Evaluate(t, y, _theta, dy, batch, _workspace);
    }
}
