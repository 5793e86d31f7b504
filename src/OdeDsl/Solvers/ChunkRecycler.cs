namespace OdeDsl;

/// <summary>
/// <see cref="DenseOutput{T}"/>'s chunk arrays, given back by a solve whose dense output nobody can read any more
/// (<see cref="DenseOutput{T}.Recycle"/>) and lent, uncleared, to the next dense output that asks for the same length.
/// A training step of the CNF bench wrote 0.8 MB of fresh large-object memory per solve: its page faults and copies
/// were the biggest serial cost left in that step (docs/performance.md, "cnf-step mlp/backprop: a spinning helper").
/// Arrays nobody recycles are collected as before. At most <see cref="MaxBytes"/> are kept.
/// </summary>
internal static class ChunkRecycler<T> where T : unmanaged
{
    internal const long MaxBytes = 64L << 20;

    private static readonly Dictionary<int, Stack<T[]>> s_free = [];
    private static readonly Lock s_lock = new();
    private static long s_bytes;

    private static long Bytes(T[] array) => (long)array.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();

    /// <summary>A kept array of exactly <paramref name="length"/> elements, else a new one; not cleared either way.</summary>
    public static T[] Rent(int length)
    {
        lock (s_lock)
            if (s_free.TryGetValue(length, out var stack) && stack.TryPop(out var array))
            {
                s_bytes -= Bytes(array);
                return array;
            }
        return GC.AllocateUninitializedArray<T>(length);
    }

    /// <summary>Keeps <paramref name="array"/> for a later <see cref="Rent"/>; the caller must not touch it again.</summary>
    public static void Return(T[] array)
    {
        lock (s_lock)
        {
            if (s_bytes + Bytes(array) > MaxBytes) return;
            if (!s_free.TryGetValue(array.Length, out var stack)) s_free[array.Length] = stack = new Stack<T[]>();
            stack.Push(array);
            s_bytes += Bytes(array);
        }
    }
}
