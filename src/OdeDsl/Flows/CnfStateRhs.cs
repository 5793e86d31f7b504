using System.Numerics;

namespace OdeDsl.Flows;

/// <summary>
/// A CNF field's state dynamics dz/dt = f(z, t, θ) alone (no log-density channel) as an <see cref="IOdeRhs{T}"/>: carrying
/// points along the flow (samples, trajectories) with any solver, and the CPU reference of the batched GPU path for MLP
/// fields (OdeDsl.Gpu's BatchedOde). Rows that share t (shared-step solves) are evaluated in one call; rows at different
/// times (per-sample steps) one call per run of equal t.
/// </summary>
public sealed class CnfStateRhs<TField, T> : IOdeRhs<T>
    where TField : ICnfField<TField>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _theta;
    private T[] _workspace = [];

    public CnfStateRhs(T[] theta)
    {
        ArgumentNullException.ThrowIfNull(theta);
        if (theta.Length != TField.ParameterCount)
            throw new ArgumentException($"theta has {theta.Length} elements; {typeof(TField).Name} has {TField.ParameterCount}.", nameof(theta));
        _theta = theta;
    }

    public int StateSize => TField.Dimension;

    public void Evaluate(ReadOnlySpan<T> t, ReadOnlySpan<T> y, Span<T> dy, int batch)
    {
        int d = TField.Dimension;
        for (int start = 0; start < batch;)
        {
            int end = start + 1;
            while (end < batch && t[end] == t[start]) end++;
            int rows = end - start;
            int need = TField.WorkspaceLength(rows, 0);
            if (_workspace.Length < need) _workspace = new T[need];
            TField.Forward(t[start], y.Slice(start * d, rows * d), _theta, default, 0, dy.Slice(start * d, rows * d), default, rows, _workspace);
            start = end;
        }
    }
}
