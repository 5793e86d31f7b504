using System.Numerics;

namespace OdeDsl;

/// <summary>
/// y_n and the stages k_1 … k_s of every accepted step of a solve: backprop's tape. A solver's dense output that keeps
/// them implements this, so backprop needs no replay.
/// </summary>
internal interface IStepStages<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    int Count { get; }
    int Stages { get; }
    /// <summary>y_n of step j, [batch·S].</summary>
    ReadOnlySpan<T> Y(int j);
    /// <summary>The stages of step j, [stages, batch·S].</summary>
    ReadOnlySpan<T> K(int j);
}

/// <summary>A tape in two contiguous buffers (backprop's replay writes it).</summary>
internal sealed class ContiguousStepStages<T>(int count, int stages, int n) : IStepStages<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _ys = new T[count * n];
    private readonly T[] _ks = new T[count * stages * n];

    public int Count => count;
    public int Stages => stages;
    public ReadOnlySpan<T> Y(int j) => _ys.AsSpan(j * n, n);
    public ReadOnlySpan<T> K(int j) => _ks.AsSpan(j * stages * n, stages * n);
    public Span<T> YMemory(int j) => _ys.AsSpan(j * n, n);
    public Span<T> KMemory(int j) => _ks.AsSpan(j * stages * n, stages * n);
}
