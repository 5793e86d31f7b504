namespace OdeDsl;

/// <summary>
/// One chunk workspace kept per thread and element type, lent to <see cref="RowChunkedEvaluator{TDynamics, T}"/> and
/// <see cref="AdjointBatch{TDynamics, T}"/> for the duration of one chunk's call. Before, each evaluator allocated its
/// two workspaces per solve: for the CNF bench's 512-row mlp that was 6.4 of the 7.7 MB allocated per training step,
/// large-object heap, with about one gen-2 collection per step and the kernel's page faults on the fresh pages
/// (docs/performance.md, "cnf-step: the mlp field's step").
/// </summary>
/// <remarks>
/// An array that last served another owner is cleared before it is lent. The evaluators take their system's owner id
/// (<see cref="OwnerFor{TDynamics}"/>), so a system sees zeros on its first call on a thread, else what one of its own
/// earlier calls left there — with any θ, time and batch, as a workspace reused across calls always could (the
/// <see cref="IOdeDynamics{TSelf}"/> contract). Owner ids per evaluator cleared the CNF bench's 1.6 MB chunk workspace
/// four times per step, once for each new evaluator on each thread. A nested rent on the same thread finds the slot
/// empty and gets a new array. Arrays over <see cref="MaxKeptLength"/> are not kept (a thread would hold them for the
/// life of the process).
/// </remarks>
internal static class ThreadWorkspace<T> where T : unmanaged
{
    internal const int MaxKeptLength = 1 << 22;

    [ThreadStatic] private static T[]? s_kept;
    [ThreadStatic] private static long s_owner;   // an id, not the owner: a kept array must not keep its last owner alive
    private static long s_nextOwner;

    /// <summary>A new owner id.</summary>
    public static long NewOwner() => Interlocked.Increment(ref s_nextOwner);

    /// <summary>The owner id shared by every evaluator of <typeparamref name="TDynamics"/>.</summary>
    public static long OwnerFor<TDynamics>() => OwnerId<TDynamics>.Value;

    private static class OwnerId<TDynamics>
    {
        public static readonly long Value = NewOwner();
    }

    /// <summary>An array of at least <paramref name="length"/> elements for <paramref name="owner"/>; give it back with <see cref="Return"/>.</summary>
    public static T[] Rent(int length, long owner)
    {
        var a = s_kept;
        if (a is null || a.Length < length) return new T[length];
        s_kept = null;
        if (s_owner != owner) Array.Clear(a, 0, length);
        return a;
    }

    public static void Return(T[] array, long owner)
    {
        if (array.Length > MaxKeptLength) return;
        var kept = s_kept;
        if (kept is not null && kept.Length > array.Length) return;
        s_kept = array;
        s_owner = owner;
    }
}
