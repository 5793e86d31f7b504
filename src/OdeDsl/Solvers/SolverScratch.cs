namespace OdeDsl;

/// <summary>
/// The Runge-Kutta loop's large internal arrays (the stage slots, y_{n+1}, the stage input, the scaled error), kept
/// from one solve to the next on the same thread through WEAK references. A training loop solves the same sizes again
/// and again: the MNIST ODE-Net's step allocated 71 MB per step, most of it these arrays (the adjoint's backward solve
/// alone: 10 × 665,000 floats), and with no collection in between every one of them was fresh memory, so the step paid
/// the kernel's page faults and the allocator's zeroing on each (about a tenth of its CPU time, measured with perf:
/// docs/performance.md, "MNIST step on two cores"). Weak references keep nothing alive: a collection takes them back.
/// </summary>
/// <remarks>
/// A rented array has exactly the length asked for (the solver uses whole arrays) and is cleared, so a solve sees what
/// a fresh <c>new T[length]</c> gives; clearing warm memory costs a fraction of faulting in new pages. A nested solve on
/// the same thread (inside a right-hand side) finds its sizes taken and allocates. When all slots hold live arrays the
/// newest one displaces one of them, in turn (a new problem size is kept at once). Returned arrays must no longer be
/// referenced by anything that escapes the solve.
/// </remarks>
internal static class SolverScratch<T> where T : unmanaged
{
    /// <summary>Arrays below this length are cheap to allocate and not worth keeping.</summary>
    internal const int MinKeptLength = 1 << 14;
    private const int Slots = 16; // an adjoint training step keeps 11 sizes: the forward and backward solves' 4 each, and the adjoint's 3

    [ThreadStatic] private static WeakReference<T[]>?[]? s_kept;
    [ThreadStatic] private static int s_next;   // the slot a full table overwrites next (round robin)

    public static T[] Rent(int length)
    {
        if (length >= MinKeptLength && s_kept is { } kept)
            for (int i = 0; i < kept.Length; i++)
                if (kept[i] is { } w && w.TryGetTarget(out var a) && a.Length == length)
                {
                    w.SetTarget(null!);
                    Array.Clear(a);
                    return a;
                }
        return new T[length];
    }

    public static void Return(T[]? array)
    {
        if (array is null || array.Length < MinKeptLength) return;
        var kept = s_kept ??= new WeakReference<T[]>?[Slots];
        int free = -1;
        for (int i = 0; i < kept.Length; i++)
        {
            if (kept[i] is not { } w) { if (free < 0) free = i; continue; }
            if (!w.TryGetTarget(out var held)) { if (free < 0) free = i; continue; }
            if (ReferenceEquals(held, array)) return;
        }
        if (free < 0) { free = s_next; s_next = (s_next + 1) % kept.Length; } // full: the newest array displaces one in turn
        if (kept[free] is { } slot) slot.SetTarget(array);
        else kept[free] = new WeakReference<T[]>(array);
    }
}
