using System.Numerics;

namespace OdeDsl;

/// <summary>
/// Binds a generated system to a parameter vector so that solvers can integrate it:
/// the bridge from <see cref="IOdeDynamics{TSelf}"/> to <see cref="IOdeRhs{T}"/>.
/// Holds its own workspace, sized for <c>maxBatch</c> rows; nothing is allocated per evaluation. Batches of more
/// than two chunks (about 200 rows for a small MLP field) are evaluated chunk by chunk on two cores
/// (<see cref="RowChunkedEvaluator{TDynamics, T}"/>).
/// One solve at a time per instance (and its copies, which share the workspace): concurrent solves need one each.
/// </summary>
public readonly struct DynamicsRhs<TDynamics, T> : IOdeRhs<T>
    where TDynamics : IOdeDynamics<TDynamics>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _theta;
    private readonly T[] _workspace;
    private readonly RowChunkedEvaluator<TDynamics, T>? _chunked;

    public DynamicsRhs(T[] theta, int maxBatch)
    {
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        if (theta.Length != TDynamics.ParameterCount)
            throw new ArgumentException(
                $"{typeof(TDynamics).Name} has {TDynamics.ParameterCount} parameters but θ has {theta.Length} elements.", nameof(theta));
        _theta = theta;
        _chunked = RowChunkedEvaluator<TDynamics, T>.For(theta, maxBatch);
        _workspace = _chunked is null ? new T[TDynamics.WorkspaceLength(maxBatch)] : [];
        MaxBatch = maxBatch;
    }

    public int MaxBatch { get; }
    public int StateSize => TDynamics.StateSize;
    public T[] Theta => _theta;

    public void Evaluate(ReadOnlySpan<T> t, ReadOnlySpan<T> y, Span<T> dy, int batch)
    {
        if (batch > MaxBatch)
            throw new ArgumentOutOfRangeException(nameof(batch), $"batch {batch} exceeds the {MaxBatch} rows this right-hand side was created for.");
        if (_chunked is not null) _chunked.Evaluate(t, y, dy, batch);
        else TDynamics.Evaluate(t, y, _theta, dy, batch, _workspace);
    }
}
