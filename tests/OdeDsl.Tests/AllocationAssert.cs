namespace OdeDsl.Tests;

/// <summary>
/// "This code allocates nothing per call", robust to the runtime's own one-off allocations on the test thread: the
/// first time a thread blocks on a thread-pool hand-off it sets up its wait machinery (≈ 2 KB), and when tiered
/// compilation promotes a hot method it may start its background worker (≈ 7 KB, seen in CI). Those happen once; a
/// per-call allocation shows in every window. So the code must run one window allocating nothing within a few tries.
/// </summary>
internal static class AllocationAssert
{
    public static void NoneWithin(Action window, int tries = 5)
    {
        window(); // JIT and first-use set-up
        var bytes = new List<long>();
        for (int attempt = 0; attempt < tries && (bytes.Count == 0 || bytes[^1] != 0); attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            window();
            bytes.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.True(bytes[^1] == 0, $"Bytes allocated per window: {string.Join(", ", bytes)} (no clean window in {tries} tries).");
    }

    /// <summary>
    /// The fewest bytes <paramref name="run"/> allocated on this thread in <paramref name="tries"/> runs: for comparing a
    /// short and a long run ("does not grow with steps") without the runtime's one-offs landing in one of them.
    /// </summary>
    public static long Fewest(Action run, int tries = 3)
    {
        long fewest = long.MaxValue;
        for (int i = 0; i < tries; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            run();
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return fewest;
    }
}
