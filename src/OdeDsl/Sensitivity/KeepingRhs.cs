using System.Numerics;

namespace OdeDsl;

/// <summary>
/// The right-hand side of backprop's forward solve for dynamics that keep activations (<see cref="IOdeDynamics{TSelf}.KeptPerRow"/>):
/// <see cref="DynamicsRhs{TDynamics, T}"/>'s evaluation, chunked the same way, with every evaluation logged in
/// <see cref="Log"/> together with what it kept, for the reverse sweep to start from.
/// </summary>
internal readonly struct KeepingRhs<TDynamics, T> : IOdeRhs<T>
    where TDynamics : IOdeDynamics<TDynamics>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _theta;
    private readonly T[] _workspace;
    private readonly RowChunkedEvaluator<TDynamics, T>? _chunked;
    private readonly int _batch;

    public KeepingRhs(T[] theta, int batch, long maxKeptBytes)
    {
        _theta = theta;
        _batch = batch;
        _chunked = RowChunkedEvaluator<TDynamics, T>.For(theta, batch);
        _workspace = _chunked is null ? new T[TDynamics.WorkspaceLength(batch)] : [];
        Log = new ActivationLog<T>(batch, TDynamics.StateSize, TDynamics.KeptPerRow, _chunked?.RowsPerChunk(batch) ?? batch, maxKeptBytes);
    }

    public ActivationLog<T> Log { get; }
    public int StateSize => TDynamics.StateSize;

    public void Evaluate(ReadOnlySpan<T> t, ReadOnlySpan<T> y, Span<T> dy, int batch)
    {
        if (batch != _batch)
            throw new ArgumentOutOfRangeException(nameof(batch), $"batch {batch}; this right-hand side was created for {_batch} rows.");
        var kept = Log.Add(t, y);   // empty over the log's budget: evaluated without keeping
        if (_chunked is not null) _chunked.Evaluate(t, y, dy, kept, batch);
        else if (kept.IsEmpty) TDynamics.Evaluate(t, y, _theta, dy, batch, _workspace);
        else TDynamics.EvaluateKeeping(t, y, _theta, dy, kept, batch, _workspace);
    }
}
